#!/usr/bin/env bash
# Cold start: time from process start to /readyz answering 200 with the demo model repository,
# polled every 5 ms, median of RUNS runs: with every version loaded eagerly, and lazily (ready at
# once; the first request to each version then pays its load).
# Usage: bench/cold_start.sh [RUNS=5]   (after `make models`)
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/lib.sh
runs=${1:-5}
build=${BUILD:-build/release}
port=18095
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# One start with a fresh registry (not the demo's, which the admin API may have changed): prints the
# milliseconds to ready under load policy $1.
start_to_ready() {
  local start pid
  rm -f "$work"/registry.db*
  start=$(date +%s%N)
  SERAPH_SERVER_PORT=$port SERAPH_LOG_ACCESS_LOG=false SERAPH_MODELS_LOAD_POLICY=$1 \
    SERAPH_REGISTRY_LOCATION="$work/registry.db" "$build/src/seraph" serve -c examples/quickstart.yaml >/dev/null 2>&1 &
  pid=$!
  until curl -sf "http://127.0.0.1:$port/readyz" >/dev/null 2>&1; do sleep 0.005; done
  echo $(( ($(date +%s%N) - start) / 1000000 ))
  kill "$pid"
  wait "$pid" 2>/dev/null || true
}

models=$(find examples/models -name model.yaml | wc -l)
echo "date: $(date -u +%Y-%m-%dT%H:%MZ)  command: bench/cold_start.sh $runs  ($models model versions)"
for policy in eager lazy; do
  times=()
  for _ in $(seq "$runs"); do times+=("$(start_to_ready "$policy")"); done
  echo "$policy: start to ready, median $(printf '%s\n' "${times[@]}" | median) ms (runs: ${times[*]} ms)"
done
