#!/usr/bin/env bash
# What one /predict costs the server: CPU time per request (utime + stime of the server's processes
# over a wrk run, divided by the requests answered), against nginx's for a fixed body and nginx's
# for seraph's own request and answer (the same bytes, with no work behind them) in the same run;
# what each costs wrk, which shares the cores (GNU time's user + system over the run); and heap
# allocations per request (jemalloc's own count, printed at exit, compared between a short and a
# long run so start-up's allocations cancel out). Each row also gives wrk's p99: on cores shared
# with wrk, whether it is one scheduler tick or two follows the server / wrk ratio, and the nginx
# rows between the fixed body and seraph's full answer show how little it takes to cross.
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
trap 'kill $(jobs -p) 2>/dev/null || true; stop_nginx "$work"; for d in "$work"/same-*; do stop_nginx "$d"; done; rm -rf "$work"' EXIT
ticks=$(getconf CLK_TCK)

# utime + stime of processes, in clock ticks.
cpu_ticks() { local t=0; for p in "$@"; do t=$((t + $(awk '{ print $14 + $15 }' "/proc/$p/stat"))); done; echo $t; }
# Runs wrk against $1 (with script $2) for $3 seconds; prints the number of requests answered, the
# CPU seconds wrk itself used and the p99 in ms.
requests() {
  /usr/bin/time -f 'wrk_cpu %U %S' wrk -t2 -c64 -d"$3"s --latency -s "$2" "$1" 2>&1 |
    awk 'function ms(v) { if (v ~ /us$/) return v / 1000; if (v ~ /ms$/) return v + 0; if (v ~ /s$/) return v * 1000; return v }
      /requests in/ { n = $1 } /^wrk_cpu/ { cpu = $2 + $3 } /^ +99%/ { p99 = ms($2) }
      /Non-2xx/ { print "non-2xx answers" > "/dev/stderr"; exit 1 }
      END { print n, cpu, p99 }'
}
# Measures the server processes PIDS... under wrk against URL with SCRIPT: prints the requests, the
# server's and wrk's CPU microseconds per request, and the p99. Fails when wrk saw a non-2xx answer.
measure() {
  local url=$1 script=$2; shift 2
  local before after out n wrk_cpu p99
  before=$(cpu_ticks "$@")
  out=$(requests "$url" "$script" "$duration") || return 1
  after=$(cpu_ticks "$@")
  read -r n wrk_cpu p99 <<<"$out"
  echo "$n $(echo "($after - $before) * 1000000 / $ticks / $n" | bc -l) $(echo "$wrk_cpu * 1000000 / $n" | bc -l) $p99"
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
nginx_row=$(measure "http://127.0.0.1:$nginx_port/" "$empty_lua" $(pgrep -P "$(cat "$work/nginx.pid")"))
read -r _ nginx_us _ <<<"$nginx_row"

start_seraph short
n_short=$(requests "http://127.0.0.1:$port/predict" bench/wrk/predict_sentiment.lua 1 | awk '{ print $1 }')
# The answer /predict gives the bench's request, for nginx to send as it is.
save_answer "$port" bench/wrk/predict_sentiment.lua "$work/answer.head" "$work/answer.body"
stop_seraph
short_allocations=$(allocations short)

# nginx taking seraph's request and sending seraph's answer: the body alone, then with seraph's
# header fields, then with its access log too. Prints measure's line.
same_answer() {
  local dir="$work/same-${1// /-}"
  start_nginx "$same_answer_port" "$dir" "$work/answer.head" "$work/answer.body" "$1"
  sleep 0.3
  measure "http://127.0.0.1:$same_answer_port/predict" bench/wrk/predict_sentiment.lua $(pgrep -P "$(cat "$dir/nginx.pid")")
  stop_nginx "$dir"
  sleep 0.3
}
bare_row=$(same_answer "")
fields_row=$(same_answer "fields")
same_row=$(same_answer "fields log")

start_seraph long
seraph_row=$(measure "http://127.0.0.1:$port/predict" bench/wrk/predict_sentiment.lua "$seraph_pid")
read -r n_long seraph_us _ <<<"$seraph_row"
stop_seraph
long_allocations=$(allocations long)
per_request=$(echo "($long_allocations - $short_allocations) / ($n_long - $n_short)" | bc -l)

echo "date: $(date -u +%Y-%m-%dT%H:%MZ)  host: $(nproc) cores  command: bench/cost.sh $duration  (wrk -t2 -c64 on the same cores)"
printf '| %-40s | %10s | %10s | %13s | %8s |\n' "CPU us per request" server wrk "server / wrk" "p99 ms"
printf '|%s|%s|%s|%s|%s|\n' ------------------------------------------ ------------ ------------ --------------- ----------
# row NAME "REQUESTS SERVER_US WRK_US P99_MS"
row() {
  local server wrk p99
  read -r _ server wrk p99 <<<"$2"
  printf '| %-40s | %10.1f | %10.1f | %13.2f | %8.2f |\n' "$1" "$server" "$wrk" "$(echo "$server / $wrk" | bc -l)" "$p99"
}
row "nginx, fixed body" "$nginx_row"
row "nginx, seraph's answer: body only" "$bare_row"
row "nginx, seraph's answer and header fields" "$fields_row"
row "nginx, ... and a buffered access log" "$same_row"
row "seraph /predict" "$seraph_row"
echo
printf '| %-36s | %10.2f |\n' "seraph CPU / nginx CPU" "$(echo "$seraph_us / $nginx_us" | bc -l)"
printf '| %-36s | %10.1f |\n' "seraph heap allocations per request" "$per_request"
