#!/usr/bin/env bash
# Installs, builds and runs every test. GPU tests skip themselves where there is no CUDA device.
set -euo pipefail
cd "$(dirname "$0")/.."
tools/build.sh
ctest --test-dir build --output-on-failure --parallel "$(nproc)"
