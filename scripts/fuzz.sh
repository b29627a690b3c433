#!/usr/bin/env bash
# `make fuzz`: builds the fuzz targets of tests/fuzz with clang, libFuzzer, ASan and UBSan in their
# own build directory and runs each for FUZZ_SECONDS. Each runs on its working corpus in
# <build>/corpus/<target> (the committed seeds copied in, plus what earlier runs found), so the
# committed corpus never changes; a crash, sanitizer report, timeout or out-of-memory input goes to
# <build>/crashes/<target>/. Prints each target's executions and findings; fails if any found one.
# Environment: FUZZ_SECONDS (60), FUZZ_BUILD (build/fuzz), FUZZ_TARGETS (all), JOBS (nproc).
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${FUZZ_SECONDS:-60}
build=${FUZZ_BUILD:-build/fuzz}
jobs=${JOBS:-$(nproc)}

# Each target and its committed seed corpus.
declare -A seeds=(
  [request_parsers_fuzz]=tests/fuzz/corpus
  [jwt_fuzz]=tests/fuzz/corpus_jwt
  [http_request_fuzz]=tests/fuzz/corpus_http
  [config_fuzz]=tests/fuzz/corpus_config
  [answer_codec_fuzz]=tests/fuzz/corpus_answer
)
targets=(${FUZZ_TARGETS:-request_parsers_fuzz jwt_fuzz http_request_fuzz config_fuzz answer_codec_fuzz})
for target in "${targets[@]}"; do
  [ -n "${seeds[$target]:-}" ] || { echo "fuzz: unknown target $target (known: ${!seeds[*]})" >&2; exit 2; }
done

cmake -S . -B "$build" -G Ninja -DCMAKE_CXX_COMPILER="$(command -v clang++)" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DSERAPH_SANITIZE=ON \
  -DSERAPH_LIBFUZZER=ON >/dev/null
cmake --build "$build" -j "$jobs" --target "${targets[@]}"

export ASAN_OPTIONS="detect_leaks=1:detect_odr_violation=0:abort_on_error=1:strict_string_checks=1"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1:suppressions=$PWD/tests/sanitizers/ubsan.supp"
export LSAN_OPTIONS="suppressions=$PWD/tests/sanitizers/lsan.supp:print_suppressions=0"

summary=()
found=0
for target in "${targets[@]}"; do
  corpus="$build/corpus/$target"
  crashes="$build/crashes/$target"
  log="$build/logs/$target.log"
  mkdir -p "$corpus" "$crashes" "$(dirname "$log")"
  cp -f "${seeds[$target]}"/* "$corpus"/
  echo "fuzz: $target for ${seconds}s (log: $log)"
  status=0
  "$build/tests/fuzz/$target" "$corpus" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
    -print_final_stats=1 -artifact_prefix="$crashes/" >"$log" 2>&1 || status=$?
  # A crash prints the final stats twice (from the crash handler and at exit): the last is the count.
  executions=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' | tail -1 || true)
  artifacts=$(grep -o "Test unit written to .*" "$log" | sed 's/Test unit written to //' | sort -u | tr '\n' ' ' || true)
  if [ "$status" -ne 0 ] || [ -n "$artifacts" ]; then
    found=1
    summary+=("$(printf '%-22s %12s executions  FOUND: %s (exit %d; see %s)' "$target" "${executions:-?}" \
      "${artifacts:-no input written}" "$status" "$log")")
  else
    summary+=("$(printf '%-22s %12s executions  nothing found' "$target" "${executions:-?}")")
  fi
done

echo "fuzz: $(date -u +%Y-%m-%d), ${seconds}s per target"
printf '%s\n' "${summary[@]}"
exit "$found"
