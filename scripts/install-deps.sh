#!/usr/bin/env bash
# Installs what Seraph needs from Debian 12's packages. Idempotent: installs only what is missing.
set -euo pipefail

packages=(
  build-essential cmake ninja-build ccache pkg-config git clang libclang-rt-14-dev
  libboost-dev libboost-system-dev rapidjson-dev libsimdjson-dev libyaml-cpp-dev libspdlog-dev libfmt-dev libcli11-dev libjemalloc-dev
  libfasttext-dev libxgboost-dev xgboost libtorch-dev libopenblas0-serial
  libgtest-dev libgmock-dev libbenchmark-dev
  libsqlite3-dev libpqxx-dev postgresql libssl-dev zlib1g-dev libxxhash-dev libhiredis-dev redis-server libre2-dev
  prometheus nginx-light wrk curl bc time valgrind
  python3-scipy
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "install-deps: installing ${missing[*]}"
sudo=""
[ "$(id -u)" -ne 0 ] && sudo="sudo"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -q
$sudo apt-get install -y -q --no-install-recommends "${missing[@]}"
