#!/usr/bin/env bash
# What one /predict costs the server: CPU time per request (utime + stime of the server process
# over a wrk run, divided by the requests it answered), against nginx's for a fixed body in the
# same run; and heap allocations per request (jemalloc's own count, printed at exit, compared
# between a short and a long run so start-up's allocations cancel out).
# Usage: bench/cost.sh [DURATION_SECONDS=5]   (after `make models`)
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/lib.sh
duration=${1:-5}
build=${BUILD:-build/release}
port=18082
nginx_port=18083
work=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; stop_nginx "$work"; rm -rf "$work"' EXIT
ticks=$(getconf CLK_TCK)

# utime + stime of a process, in clock ticks.
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }
# Runs wrk against $1 (with script $2) for $3 seconds; prints the number of requests answered.
requests() {
  wrk -t2 -c64 -d"$3"s -s "$2" "$1" | awk '/requests in/ { print $1 } /Non-2xx/ { print "non-2xx answers" > "/dev/stderr"; exit 1 }'
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
nginx_cpu() { local t=0; for p in $(pgrep -f "nginx: worker" ); do t=$((t + $(cpu_ticks "$p"))); done; echo $t; }
empty_lua="$work/get.lua"; echo 'wrk.method = "GET"' > "$empty_lua"
before=$(nginx_cpu); n=$(requests "http://127.0.0.1:$nginx_port/" "$empty_lua" "$duration"); after=$(nginx_cpu)
nginx_us=$(echo "($after - $before) * 1000000 / $ticks / $n" | bc -l)

start_seraph short
requests "http://127.0.0.1:$port/predict" bench/wrk/predict_sentiment.lua 1 >"$work/short.n"
stop_seraph
short_allocations=$(allocations short)

start_seraph long
before=$(cpu_ticks "$seraph_pid")
long_n=$(requests "http://127.0.0.1:$port/predict" bench/wrk/predict_sentiment.lua "$duration")
after=$(cpu_ticks "$seraph_pid")
stop_seraph
long_allocations=$(allocations long)
seraph_us=$(echo "($after - $before) * 1000000 / $ticks / $long_n" | bc -l)
per_request=$(echo "($long_allocations - $short_allocations) / ($long_n - $(cat "$work/short.n"))" | bc -l)

echo "date: $(date -u +%Y-%m-%dT%H:%MZ)  host: $(nproc) cores  command: bench/cost.sh $duration  (wrk -t2 -c64 on the same cores)"
printf '| %-34s | %10s |\n' measure value
printf '|%s|%s|\n' ------------------------------------ ------------
printf '| %-34s | %10.1f |\n' "nginx CPU us per request" "$nginx_us" "seraph /predict CPU us per request" "$seraph_us"
printf '| %-34s | %10.2f |\n' "seraph CPU / nginx CPU" "$(echo "$seraph_us / $nginx_us" | bc -l)"
printf '| %-34s | %10.1f |\n' "seraph heap allocations per request" "$per_request"
