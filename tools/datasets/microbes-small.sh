#!/usr/bin/env bash
# tools/datasets/microbes-small.sh [OUT] — a 10-species, 9-Mbp cut of microbes.sh's genomes for quick
# runs: the first strain (in file order) of each species, its first 1 Mbp, split by region (valid and
# test are the last 10% + 10% of every record). Needs tools/datasets/microbes.sh first.
set -euo pipefail
DS_NAME=microbes-small
source "$(dirname "$0")/lib.sh"
SRC="$KRAIT_ROOT/runs/datasets/microbes"
OUT="$(out_dir microbes-small "${1:-}")"
[[ -d "$SRC/fasta" ]] || die "run tools/datasets/microbes.sh first"
mkdir -p "$OUT/fasta"
: > "$OUT/manifest.tsv"
for dir in "$SRC"/fasta/*/; do
  species="$(basename "$dir")"
  first="$(ls "$dir"*.fa | head -1)"
  awk -v max=1000000 '/^>/ { if (n < max) print; next }
    { if (n >= max) next; if (length($0) > max - n) $0 = substr($0, 1, max - n); n += length($0); print }' \
    "$first" > "$OUT/fasta/$species.fa"
  printf 'fasta/%s.fa\t%s\n' "$species" "$species" >> "$OUT/manifest.tsv"
done
(cd "$OUT" && run_prepare "$OUT/prepared" dna --out "$OUT/prepared" --manifest manifest.tsv --label-by file \
  --split region fasta/*.fa)
log "done: $OUT"
