#!/usr/bin/env bash
# tools/experiments/spoken-digits.sh [--set key=value ...] — the audio experiment end to end:
# next-sample pretraining on solo piano (configs/audio/piano-pretrain.yaml), then spoken-digit
# classification from the pretrained backbone and from scratch, each scored on the held-out voices
# and on the recorded Asterisk digits (out of domain) with `krait eval`; prints a table.
# Needs the data of tools/datasets/{piano,spoken-digits}.sh and a GPU (or shrink with --set). The
# --set pairs apply to every run; PRETRAIN_SETS to the pretraining alone. KRAIT, RUNS, PIANO and
# DIGITS name the binary, the output folder and the prepared datasets.
set -euo pipefail
cd "$(dirname "$0")/../.."
KRAIT="${KRAIT:-build/train/krait}"
RUNS="${RUNS:-runs/audio}"
PIANO="${PIANO:-runs/datasets/piano/prepared}"
DIGITS="${DIGITS:-runs/datasets/spoken-digits}"
read -r -a pretrain_sets <<< "${PRETRAIN_SETS:-}"
sets=("$@")

newest() { ls "$1"/checkpoints/step-*.h5 | tail -1; }
accuracy() { grep -o 'accuracy [0-9.]*%' "$1" | head -1 | cut -d' ' -f2; }

"$KRAIT" train -c configs/audio/piano-pretrain.yaml --set "data.train=$PIANO/train.h5" --set "data.valid=$PIANO/valid.h5" \
  --set "train.run_dir=$RUNS/piano" "${pretrain_sets[@]/#/--set=}" "${sets[@]}"
results=()
for start in pretrained scratch; do
  run="$RUNS/digits-$start"
  init="$RUNS/piano"
  [[ $start == scratch ]] && init=""
  "$KRAIT" train -c configs/audio/spoken-digits-classify.yaml --set "data.train=$DIGITS/prepared/train.h5" \
    --set "data.valid=$DIGITS/prepared/valid.h5" --set "train.run_dir=$run" --set "train.init_from=$init" "${sets[@]}"
  "$KRAIT" eval --checkpoint "$(newest "$run")" --set "data.valid=$DIGITS/prepared/test.h5" | tee "$run/test-eval.txt"
  "$KRAIT" eval --checkpoint "$(newest "$run")" --set "data.valid=$DIGITS/prepared-asterisk/test.h5" \
    --set eval.batch_size=10 | tee "$run/asterisk-eval.txt"
  results+=("| $start | $(accuracy "$run/test-eval.txt") | $(accuracy "$run/asterisk-eval.txt") |")
done
echo
echo "Spoken digits (10 classes, chance 10%):"
echo "| backbone | held-out voices | Asterisk recordings |"
echo "|---|---|---|"
printf '%s\n' "${results[@]}"
