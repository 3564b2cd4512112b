#!/usr/bin/env bash
# Installs Krait's build dependencies from Debian 12 packages (skips apt when all are present).
# The CUDA Toolkit is expected at /usr/local/cuda; without it Krait builds CPU-only.
# `install-deps.sh fuzz` adds clang 16, its sanitizer and libFuzzer runtimes and llvm-symbolizer
# (tools/fuzz.sh).
set -euo pipefail
packages=(cmake ninja-build g++ pkg-config libhdf5-dev libyaml-cpp-dev libcli11-dev libgtest-dev zlib1g-dev)
if [ "${1:-}" = fuzz ]; then
  packages+=(clang-16 libclang-rt-16-dev llvm-16)
fi
missing=()
for p in "${packages[@]}"; do
  dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi
echo "installing: ${missing[*]}"
sudo_cmd=()
[ "$(id -u)" -eq 0 ] || sudo_cmd=(sudo)
export DEBIAN_FRONTEND=noninteractive
"${sudo_cmd[@]}" apt-get update -qq
"${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
