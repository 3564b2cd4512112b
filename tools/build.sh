#!/usr/bin/env bash
# Installs the dependencies and builds Krait into build/ (Release): everything, or the targets given
# (e.g. tools/build.sh krait krait-text2shard).
set -euo pipefail
cd "$(dirname "$0")/.."
tools/install-deps.sh
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release
targets=()
for t in "$@"; do targets+=(--target "$t"); done
cmake --build build --parallel "$(nproc)" "${targets[@]}"
