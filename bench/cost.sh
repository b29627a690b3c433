#!/usr/bin/env bash
# What one /predict costs the server: CPU time per request (utime + stime of the server's processes
# over a wrk run, divided by the requests answered), against nginx's for a fixed body and nginx's
# for seraph's own request and answer (the same bytes, with no work behind them) in the same run;
# what each costs wrk, which shares the cores (GNU time's user + system over the run); and heap
# allocations per request (jemalloc's own count, printed at exit, compared between a short and a
# long run so start-up's allocations cancel out).
# Usage: bench/cost.sh [DURATION_SECONDS=5]   (after `make models`)
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/lib.sh
duration=${1:-5}
build=${BUILD:-build/release}
port=18082
nginx_port=18083
same_answer_port=18086
work=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; stop_nginx "$work"; stop_nginx "$work/same"; rm -rf "$work"' EXIT
ticks=$(getconf CLK_TCK)

# utime + stime of processes, in clock ticks.
cpu_ticks() { local t=0; for p in "$@"; do t=$((t + $(awk '{ print $14 + $15 }' "/proc/$p/stat"))); done; echo $t; }
# Runs wrk against $1 (with script $2) for $3 seconds; prints the number of requests answered and
# the CPU seconds wrk itself used.
requests() {
  /usr/bin/time -f 'wrk_cpu %U %S' wrk -t2 -c64 -d"$3"s -s "$2" "$1" 2>&1 |
    awk '/requests in/ { n = $1 } /^wrk_cpu/ { cpu = $2 + $3 } /Non-2xx/ { print "non-2xx answers" > "/dev/stderr"; exit 1 }
      END { print n, cpu }'
}
# Measures the server processes PIDS... under wrk against URL with SCRIPT: prints the requests, then
# the server's and wrk's CPU microseconds per request. Fails when wrk saw a non-2xx answer.
measure() {
  local url=$1 script=$2; shift 2
  local before after out n wrk_cpu
  before=$(cpu_ticks "$@")
  out=$(requests "$url" "$script" "$duration") || return 1
  after=$(cpu_ticks "$@")
  read -r n wrk_cpu <<<"$out"
  echo "$n $(echo "($after - $before) * 1000000 / $ticks / $n" | bc -l) $(echo "$wrk_cpu * 1000000 / $n" | bc -l)"
}

start_seraph() {
  SERAPH_SERVER_PORT=$port SERAPH_MODELS_REPOSITORY="$PWD/examples/models" SERAPH_REGISTRY_LOCATION="$work/registry-$1.db" \
    MALLOC_CONF=stats_print:true "$build/src/seraph" serve -c examples/quickstart.yaml \
    >/dev/null 2>"$work/seraph-$1.log" &
  seraph_pid=$!
  for _ in $(seq 100); do curl -sf "http://127.0.0.1:$port/readyz" >/dev/null && return; sleep 0.1; done
  cat "$work/seraph-$1.log"; exit 1
}
# Stops seraph and prints the allocation requests jemalloc counted over its life (the merged
# arenas' "total:" line, column nrequests: thread-cache hits included).
stop_seraph() {
  kill -TERM "$seraph_pid"
  wait "$seraph_pid" || true
}
allocations() { awk '/^total:/ { print $7; exit }' "$work/seraph-$1.log"; }

start_nginx "$nginx_port" "$work"
sleep 0.3
empty_lua="$work/get.lua"; echo 'wrk.method = "GET"' > "$empty_lua"
out=$(measure "http://127.0.0.1:$nginx_port/" "$empty_lua" $(pgrep -P "$(cat "$work/nginx.pid")"))
read -r _ nginx_us nginx_wrk_us <<<"$out"

start_seraph short
n_short=$(requests "http://127.0.0.1:$port/predict" bench/wrk/predict_sentiment.lua 1 | awk '{ print $1 }')
# The answer /predict gives the bench's request, for nginx to send as it is.
save_answer "$port" bench/wrk/predict_sentiment.lua "$work/answer.head" "$work/answer.body"
stop_seraph
short_allocations=$(allocations short)

start_nginx "$same_answer_port" "$work/same" "$work/answer.head" "$work/answer.body"
sleep 0.3
out=$(measure "http://127.0.0.1:$same_answer_port/predict" bench/wrk/predict_sentiment.lua \
  $(pgrep -P "$(cat "$work/same/nginx.pid")"))
read -r _ same_us same_wrk_us <<<"$out"

start_seraph long
out=$(measure "http://127.0.0.1:$port/predict" bench/wrk/predict_sentiment.lua "$seraph_pid")
read -r n_long seraph_us seraph_wrk_us <<<"$out"
stop_seraph
long_allocations=$(allocations long)
per_request=$(echo "($long_allocations - $short_allocations) / ($n_long - $n_short)" | bc -l)

echo "date: $(date -u +%Y-%m-%dT%H:%MZ)  host: $(nproc) cores  command: bench/cost.sh $duration  (wrk -t2 -c64 on the same cores)"
printf '| %-36s | %10s | %10s | %13s |\n' "CPU us per request" server wrk "server / wrk"
printf '|%s|%s|%s|%s|\n' -------------------------------------- ------------ ------------ ---------------
row() { printf '| %-36s | %10.1f | %10.1f | %13.2f |\n' "$1" "$2" "$3" "$(echo "$2 / $3" | bc -l)"; }
row "nginx, fixed body" "$nginx_us" "$nginx_wrk_us"
row "nginx, seraph's request and answer" "$same_us" "$same_wrk_us"
row "seraph /predict" "$seraph_us" "$seraph_wrk_us"
echo
printf '| %-36s | %10.2f |\n' "seraph CPU / nginx CPU" "$(echo "$seraph_us / $nginx_us" | bc -l)"
printf '| %-36s | %10.1f |\n' "seraph heap allocations per request" "$per_request"
