#!/usr/bin/env bash
# tools/datasets/all.sh [BASE] — builds every dataset of tools/datasets/ into BASE/<name> (default
# runs/datasets/<name>), timing each. Idempotent like the scripts it runs: a second run only does
# what is missing (e.g. the krait-prepare step once the tool is built).
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
BASE="${1:-}"
declare -a SUMMARY=()
for name in great-apes microbes human-chrx spoken-digits piano english-corpus; do
  t0=$SECONDS
  "$HERE/$name.sh" ${BASE:+"$BASE/$name"}
  SUMMARY+=("$(printf '%-14s %5d s' "$name" $((SECONDS - t0)))")
done
printf '\nall datasets built:\n' >&2
printf '  %s\n' "${SUMMARY[@]}" >&2
