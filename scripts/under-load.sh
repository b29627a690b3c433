#!/usr/bin/env bash
# Runs end-to-end tests again and again on a machine made busy on purpose, to find the tests that
# pass alone but fail when CI's machine is loaded: each run of the filtered tests shares the cores
# with HOGS busy loops. Prints a line per run and, for each failed run, the suite's failure recap
# (the failed assertions and the end of the servers' logs). Fails if any run failed.
#   scripts/under-load.sh FILTER [RUNS] [HOGS]   e.g. scripts/under-load.sh 'RemoteBackend.*' 20 2
# Environment: BUILD, the build tree whose seraph_e2e_tests to run (build/asan, as in CI).
set -euo pipefail
cd "$(dirname "$0")/.."
filter=${1:?usage: scripts/under-load.sh FILTER [RUNS] [HOGS]}
runs=${2:-20}
hogs=${3:-2}
tests=${BUILD:-build/asan}/tests/e2e/seraph_e2e_tests
[ -x "$tests" ] || { echo "under-load: no $tests (make build-asan, or set BUILD)" >&2; exit 2; }

hog_pids=()
stop_hogs() { [ ${#hog_pids[@]} -eq 0 ] || kill "${hog_pids[@]}" 2>/dev/null || true; }
trap stop_hogs EXIT
for _ in $(seq "$hogs"); do
  bash -c 'while :; do :; done' &
  hog_pids+=($!)
done

output=$(mktemp)
failed=0
for run in $(seq "$runs"); do
  start=$SECONDS
  if "$tests" --gtest_filter="$filter" >"$output" 2>&1; then
    echo "run $run/$runs: passed ($((SECONDS - start)) s)"
  else
    failed=$((failed + 1))
    echo "run $run/$runs: FAILED ($((SECONDS - start)) s)"
    sed -n '/^\[ recap/,$p' "$output"
  fi
done
rm -f "$output"
echo "under-load: $failed of $runs runs failed ('$filter', $hogs busy loops)"
[ "$failed" -eq 0 ]
