#!/usr/bin/env bash
# Installs, builds, makes byte-level token shards from the shipped corpus, and trains the quickstart
# recipe on the CPU. Extra arguments go to `krait train` (e.g. --set schedule.total_steps=50).
set -euo pipefail
cd "$(dirname "$0")/.."
tools/build.sh krait krait-text2shard krait-plot
if [ ! -f runs/data/kjv/train.bin ]; then
  build/tools/krait-text2shard --out-dir runs/data/kjv --valid-fraction 0.05 data/corpus/kjv.txt
fi
build/train/krait train --config configs/quickstart.yaml "$@"
