#!/usr/bin/env bash
# HTTP throughput against a same-run reference: nginx returning a fixed small JSON body (the
# yardstick), nginx taking seraph's /predict request and sending seraph's own answer to it, header
# fields and access log included (seraph's exchange with no model behind it), then seraph's /predict
# and KServe V2 infer on the sentiment demo model, each driven by `wrk -t2 -c64 -d<D>s --latency`,
# RUNS times in turn; prints medians and ratios to the yardstick: the ratio of the medians, and the
# median of each round's own ratio ("paired"), which a machine whose speed drifts between rounds (a
# shared host) moves less.
# Usage: bench/run.sh [DURATION_SECONDS=10] [RUNS=3]   (after `make models`)
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/lib.sh
duration=${1:-10}
runs=${2:-3}
build=${BUILD:-build/release}
nginx_port=18081
same_answer_port=18085
seraph_port=18080
work=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; stop_nginx "$work"; stop_nginx "$work/same"; rm -rf "$work"' EXIT

start_nginx "$nginx_port" "$work"

# seraph: the demo models, access log on (to /dev/null), defaults otherwise. A fresh registry of its
# own: the demo's (examples/seraph-registry.db) holds whatever deployments the admin API left there,
# and routing through them would change what the figure measures.
SERAPH_SERVER_PORT=$seraph_port SERAPH_MODELS_REPOSITORY="$PWD/examples/models" SERAPH_REGISTRY_LOCATION="$work/registry.db" \
  "$build/src/seraph" serve -c examples/quickstart.yaml >/dev/null 2>"$work/seraph.log" &
wait_ready "$seraph_port" "$work/seraph.log"

# The answer /predict gives the bench's request, for nginx to send as it is.
save_answer "$seraph_port" bench/wrk/predict_sentiment.lua "$work/answer.head" "$work/answer.body"
start_nginx "$same_answer_port" "$work/same" "$work/answer.head" "$work/answer.body"

# One wrk run: prints "rps p50_ms p99_ms".
measure() {
  local url=$1 script=${2:-}
  local args=(-t2 -c64 -d"${duration}s" --latency)
  [ -n "$script" ] && args+=(-s "$script")
  wrk "${args[@]}" "$url" | wrk_stats
}

declare -A results
names=(nginx nginx_same_answer predict v2_infer)
for run in $(seq "$runs"); do
  results[nginx]+="$(measure "http://127.0.0.1:$nginx_port/")"$'\n'
  results[nginx_same_answer]+="$(measure "http://127.0.0.1:$same_answer_port/predict" bench/wrk/predict_sentiment.lua)"$'\n'
  results[predict]+="$(measure "http://127.0.0.1:$seraph_port/predict" bench/wrk/predict_sentiment.lua)"$'\n'
  results[v2_infer]+="$(measure "http://127.0.0.1:$seraph_port/v2/models/sentiment/infer" bench/wrk/v2_infer_sentiment.lua)"$'\n'
  echo "run $run of $runs done" >&2
done

nginx_rps=$(printf '%s' "${results[nginx]}" | awk 'NF { print $1 }' | median)
nginx_p99=$(printf '%s' "${results[nginx]}" | awk 'NF { print $3 }' | median)
echo "date: $(date -u +%Y-%m-%dT%H:%MZ)  host: $(nproc) cores  command: bench/run.sh $duration $runs  (wrk -t2 -c64 -d${duration}s, median of $runs)"
printf '| %-22s | %10s | %8s | %8s | %11s | %11s | %14s |\n' target "req/s" "p50 ms" "p99 ms" "rps/nginx" "p99/nginx" "paired rps/ngx"
printf '|%s|%s|%s|%s|%s|%s|%s|\n' ------------------------ ------------ ---------- ---------- ------------- ------------- ----------------
for name in "${names[@]}"; do
  rps=$(printf '%s' "${results[$name]}" | awk 'NF { print $1 }' | median)
  p50=$(printf '%s' "${results[$name]}" | awk 'NF { print $2 }' | median)
  p99=$(printf '%s' "${results[$name]}" | awk 'NF { print $3 }' | median)
  paired=$(paste <(printf '%s' "${results[$name]}" | awk 'NF { print $1 }') \
    <(printf '%s' "${results[nginx]}" | awk 'NF { print $1 }') | awk '{ print $1 / $2 }' | median)
  printf '| %-22s | %10s | %8s | %8s | %11.2f | %11.2f | %14.2f |\n' "$name" "$rps" "$p50" "$p99" \
    "$(echo "$rps / $nginx_rps" | bc -l)" "$(echo "$p99 / $nginx_p99" | bc -l)" "$paired"
done
