#!/usr/bin/env bash
# Dynamic batching gain on the dense demo model (512 inputs, four 1024-wide layers, compute-bound):
# requests per second with batching (max_batch_size 64, max_queue_delay_us 2000, as built) divided
# by requests per second with batching off, both under `wrk -t2 -c64 -d<D>s --latency`, RUNS times
# each, in turn; prints medians, p99s and the gain.
# Usage: bench/batching.sh [DURATION_SECONDS=10] [RUNS=3]   (after `make models`)
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/lib.sh
duration=${1:-10}
runs=${2:-3}
build=${BUILD:-build/release}
port=18090
work=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$work"' EXIT

# Two repositories holding only dense: as built (batching on), and with batching off.
mkdir -p "$work/on" "$work/off"
cp -r examples/models/dense "$work/on/"
cp -r examples/models/dense "$work/off/"
sed -i 's/^batching:.*$/batching: {max_batch_size: 0}/' "$work/off/dense/1/model.yaml"

# One row of 512 features.
row=$(awk 'BEGIN { srand(7); for (i = 0; i < 512; i++) printf "%s%.4f", (i ? "," : ""), rand() }')
cat > "$work/dense.lua" <<LUA
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = '{"inputs": [{"name": "input", "shape": [1, 512], "datatype": "FP32", "data": [$row]}]}'
wrk.path = "/v2/models/dense/infer"
LUA

# Starts seraph on a repository with a fresh registry (not the demo's, which the admin API may have
# changed), runs wrk once, stops seraph; prints "rps p50_ms p99_ms".
measure() {
  rm -f "$work"/registry.db*
  SERAPH_SERVER_PORT=$port SERAPH_LOG_ACCESS_LOG=false SERAPH_REGISTRY_LOCATION="$work/registry.db" \
    "$build/src/seraph" serve -c examples/quickstart.yaml \
    >/dev/null 2>"$work/seraph.log" &
  local pid=$!
  for _ in $(seq 100); do curl -sf "http://127.0.0.1:$port/readyz" >/dev/null && break; sleep 0.1; done
  wrk -t2 -c64 -d"${duration}s" --latency -s "$work/dense.lua" "http://127.0.0.1:$port/" | wrk_stats
  kill "$pid"
  wait "$pid" 2>/dev/null || true
}

on="" off=""
for run in $(seq "$runs"); do
  off+="$(SERAPH_MODELS_REPOSITORY="$work/off" measure)"$'\n'
  on+="$(SERAPH_MODELS_REPOSITORY="$work/on" measure)"$'\n'
  echo "run $run of $runs done" >&2
done
on_rps=$(printf '%s' "$on" | awk 'NF { print $1 }' | median)
on_p99=$(printf '%s' "$on" | awk 'NF { print $3 }' | median)
off_rps=$(printf '%s' "$off" | awk 'NF { print $1 }' | median)
off_p99=$(printf '%s' "$off" | awk 'NF { print $3 }' | median)
echo "date: $(date -u +%Y-%m-%dT%H:%MZ)  command: bench/batching.sh $duration $runs  (wrk -t2 -c64 -d${duration}s, median of $runs)"
printf '| %-16s | %8s | %8s |\n' "dense" "req/s" "p99 ms"
printf '|%s|%s|%s|\n' ------------------ ---------- ----------
printf '| %-16s | %8s | %8s |\n' "batching off" "$off_rps" "$off_p99"
printf '| %-16s | %8s | %8s |\n' "batching on" "$on_rps" "$on_p99"
printf 'gain: %.2fx\n' "$(echo "$on_rps / $off_rps" | bc -l)"
