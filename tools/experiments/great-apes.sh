#!/usr/bin/env bash
# tools/experiments/great-apes.sh [--set key=value ...] — the Great Apes experiment end to end:
# next-base pretraining (configs/dna/great-apes-pretrain.yaml), then species classification of
# 1K, 4K and 16K-base windows from the pretrained backbone and from scratch, each scored on the
# held-out test region with `krait eval`; prints a table of test accuracies.
# Needs the data of tools/datasets/great-apes.sh and a GPU (or shrink everything with --set, e.g.
#   tools/experiments/great-apes.sh --set train.device=cpu --set train.precision=fp32 \
#       --set model.d_model=16 --set model.n_layer=2 --set schedule.total_steps=20 ...).
# The --set pairs apply to every run; PRETRAIN_SETS ("key=value ...") to the pretraining alone.
# KRAIT, RUNS and DATA name the binary, the output folder and the prepared dataset; WINDOWS the
# window lengths (default "1k 4k 16k"). The same steps run on any labeled DNA set, e.g.
#   DATA=runs/datasets/microbes-small/prepared RUNS=runs/microbes WINDOWS=1k tools/experiments/great-apes.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
KRAIT="${KRAIT:-build/train/krait}"
RUNS="${RUNS:-runs/great-apes}"
DATA="${DATA:-runs/datasets/great-apes/prepared}"
WINDOWS="${WINDOWS:-1k 4k 16k}"
read -r -a pretrain_sets <<< "${PRETRAIN_SETS:-}"
sets=("$@")
common=(--set "data.train=$DATA/train.h5" --set "data.valid=$DATA/valid.h5")

newest() { ls "$1"/checkpoints/step-*.h5 | tail -1; }

"$KRAIT" train -c configs/dna/great-apes-pretrain.yaml "${common[@]}" --set "train.run_dir=$RUNS/pretrain" \
  "${pretrain_sets[@]/#/--set=}" "${sets[@]}"
results=()
for window in $WINDOWS; do
  for start in pretrained scratch; do
    run="$RUNS/classify-$window-$start"
    init="$RUNS/pretrain"
    [[ $start == scratch ]] && init=""
    "$KRAIT" train -c "configs/dna/great-apes-classify-$window.yaml" "${common[@]}" --set "train.run_dir=$run" \
      --set "train.init_from=$init" "${sets[@]}"
    "$KRAIT" eval --checkpoint "$(newest "$run")" --set "data.valid=$DATA/test.h5" --set eval.max_batches=0 \
      | tee "$run/test-eval.txt"
    accuracy="$(grep -o 'accuracy [0-9.]*%' "$run/test-eval.txt" | head -1 | cut -d' ' -f2)"
    results+=("| $window | $start | $accuracy |")
  done
done
echo
echo "Species classification of $DATA, test split:"
echo "| window | backbone | test accuracy |"
echo "|---|---|---|"
printf '%s\n' "${results[@]}"
