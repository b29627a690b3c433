#!/usr/bin/env bash
# User-space instructions per /predict request, counted by valgrind's callgrind: unlike time, the
# count does not move with the machine's load, so it shows what a change to the hot path did.
# N requests (after 300 of warm-up) go one after another on one keep-alive connection to a server
# with one I/O thread; the sentiment models run inline, as `auto` picks them at full speed (under
# valgrind they are too slow for `auto` to). Kernel time is not counted: see bench/cost.sh.
# Usage: bench/instructions.sh [REQUESTS=3000] [TOP=25]   (after `make models`)
set -euo pipefail
cd "$(dirname "$0")/.."
requests=${1:-3000}
top=${2:-25}
build=${BUILD:-build/release}
port=18084
work=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$work"' EXIT

cp -r examples/models "$work/models"
for yaml in "$work"/models/sentiment/*/model.yaml; do echo "execution: inline" >>"$yaml"; done
SERAPH_SERVER_IO_THREADS=1 SERAPH_SERVER_PORT=$port SERAPH_MODELS_REPOSITORY="$work/models" \
  SERAPH_REGISTRY_LOCATION="$work/registry.db" \
  valgrind --tool=callgrind --instr-atstart=no --callgrind-out-file="$work/callgrind.%p" \
  "$build/src/seraph" serve -c examples/quickstart.yaml >/dev/null 2>"$work/seraph.log" &
pid=$!
for _ in $(seq 300); do curl -sf "http://127.0.0.1:$port/readyz" >/dev/null && break; sleep 0.2; done
curl -sf "http://127.0.0.1:$port/readyz" >/dev/null || { cat "$work/seraph.log"; exit 1; }
/usr/bin/python3 bench/clients/sequential_predict.py 300 "$port"
callgrind_control --instr=on "$pid" >/dev/null 2>&1
/usr/bin/python3 bench/clients/sequential_predict.py "$requests" "$port"
callgrind_control --dump "$pid" >/dev/null 2>&1
callgrind_control --instr=off "$pid" >/dev/null 2>&1
kill -TERM "$pid"
wait "$pid" || true
profile=$(ls -S "$work"/callgrind.* | head -1)  # the dump holds the counted requests
total=$(callgrind_annotate "$profile" | awk '/PROGRAM TOTALS/ { gsub(",", "", $1); print $1 }')
echo "date: $(date -u +%Y-%m-%dT%H:%MZ)  command: bench/instructions.sh $requests $top  ($requests sequential /predict requests, inline)"
echo "user-space instructions per request: $((total / requests))"
echo "the $top functions that execute most of them (own instructions per request, share):"
callgrind_annotate --inclusive=no "$profile" | sed -n '/file:function/,$p' | tail -n +2 |
  awk -v n="$requests" -v top="$top" 'NF && $1 ~ /^[0-9,]+$/ && shown < top {
      ir = $1; gsub(",", "", ir); share = $0; sub(/^[^(]*\( */, "", share); sub(/\).*$/, "", share)
      name = $0; sub(/^[^:]*:/, "", name); sub(/ \[.*$/, "", name)
      printf "%7d  %6s  %s\n", ir / n, share, substr(name, 1, 100); shown++ }'
