#!/usr/bin/env bash
# Cold start: time from process start to /readyz answering 200 with the demo model repository
# (every version loaded eagerly), polled every 5 ms; median of RUNS runs.
# Usage: bench/cold_start.sh [RUNS=5]   (after `make models`)
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/lib.sh
runs=${1:-5}
build=${BUILD:-build/release}
port=18095
times=()
for run in $(seq "$runs"); do
  start=$(date +%s%N)
  SERAPH_SERVER_PORT=$port SERAPH_LOG_ACCESS_LOG=false "$build/src/seraph" serve -c examples/quickstart.yaml \
    >/dev/null 2>&1 &
  pid=$!
  until curl -sf "http://127.0.0.1:$port/readyz" >/dev/null 2>&1; do sleep 0.005; done
  times+=($(( ($(date +%s%N) - start) / 1000000 )))
  kill "$pid"
  wait "$pid" 2>/dev/null || true
done
median=$(printf '%s\n' "${times[@]}" | median)
models=$(find examples/models -name model.yaml | wc -l)
echo "date: $(date -u +%Y-%m-%dT%H:%MZ)  command: bench/cold_start.sh $runs"
echo "cold start to ready, $models model versions loaded eagerly: median ${median} ms (runs: ${times[*]} ms)"
