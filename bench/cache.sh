#!/usr/bin/env bash
# The response cache: (1) the latency of a cache hit over loopback HTTP next to nginx returning a
# fixed body, one request at a time (wrk -t1 -c1), medians of RUNS; (2) throughput on the dense
# model (a 4-layer 1024-wide network) as the share of repeated requests grows, to find the hit rate
# at which it doubles. Usage: bench/cache.sh [DURATION_SECONDS=5] [RUNS=3]   (after `make models`)
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/lib.sh
duration=${1:-5}
runs=${2:-3}
build=${BUILD:-build/release}
nginx_port=18086
seraph_port=18087
work=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; stop_nginx "$work"; rm -rf "$work"' EXIT

start_nginx "$nginx_port" "$work"

# The quickstart with the cache on, a registry of its own, the access log on (to /dev/null).
SERAPH_SERVER_PORT=$seraph_port SERAPH_MODELS_REPOSITORY="$PWD/examples/models" SERAPH_REGISTRY_LOCATION="$work/registry.db" \
  SERAPH_GUARDS_CACHE_ENABLED=true SERAPH_GUARDS_CACHE_TTL_MS=600000 \
  "$build/src/seraph" serve -c examples/quickstart.yaml >/dev/null 2>"$work/seraph.log" &
wait_ready "$seraph_port" "$work/seraph.log"
# The one /predict body the latency runs send: stored by this first call, a hit from then on.
curl -sf -o /dev/null -H 'Content-Type: application/json' -d '{"text": "The battery life is great and the screen is not bad at all"}' \
  "http://127.0.0.1:$seraph_port/predict?model=sentiment"

echo "date: $(date -u +%Y-%m-%dT%H:%MZ)  host: $(nproc) cores  command: bench/cache.sh $duration $runs"
echo "1. one request at a time (wrk -t1 -c1 -d${duration}s --latency), median of $runs:"
declare -A p50 p99
for run in $(seq "$runs"); do
  read -r _ a b < <(wrk -t1 -c1 -d"${duration}s" --latency "http://127.0.0.1:$nginx_port/" | wrk_stats)
  p50[nginx]+="$a"$'\n'; p99[nginx]+="$b"$'\n'
  read -r _ a b < <(wrk -t1 -c1 -d"${duration}s" --latency -s bench/wrk/predict_sentiment.lua "http://127.0.0.1:$seraph_port/" | wrk_stats)
  p50[hit]+="$a"$'\n'; p99[hit]+="$b"$'\n'
done
n50=$(printf '%s' "${p50[nginx]}" | median); n99=$(printf '%s' "${p99[nginx]}" | median)
h50=$(printf '%s' "${p50[hit]}" | median); h99=$(printf '%s' "${p99[hit]}" | median)
printf '| %-28s | %8s | %8s | %9s | %9s |\n' target "p50 ms" "p99 ms" "p50/nginx" "p99/nginx"
printf '|%s|%s|%s|%s|%s|\n' ------------------------------ ---------- ---------- ----------- -----------
printf '| %-28s | %8s | %8s | %9s | %9s |\n' "nginx fixed body" "$n50" "$n99" 1.00 1.00
printf '| %-28s | %8s | %8s | %9.2f | %9.2f |\n' "seraph /predict cache hit" "$h50" "$h99" \
  "$(echo "$h50 / $n50" | bc -l)" "$(echo "$h99 / $n99" | bc -l)"

echo "2. the dense model (V2 JSON, 512 inputs), wrk -t2 -c16 -d${duration}s, by share of repeated requests:"
printf '| %-12s | %10s | %8s | %10s |\n' "hit share %" "req/s" "p99 ms" "vs 0%"
printf '|%s|%s|%s|%s|\n' -------------- ------------ ---------- ------------
base=""
for share in 0 25 50 75 90; do
  read -r rps _ q99 < <(HIT_PERCENT=$share wrk -t2 -c16 -d"${duration}s" --latency -s bench/wrk/dense_hit_rate.lua \
    "http://127.0.0.1:$seraph_port/" | wrk_stats)
  [ -z "$base" ] && base=$rps
  printf '| %-12s | %10s | %8s | %9.2fx |\n' "$share" "$rps" "$q99" "$(echo "$rps / $base" | bc -l)"
done
