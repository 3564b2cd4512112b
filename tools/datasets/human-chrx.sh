#!/usr/bin/env bash
# tools/datasets/human-chrx.sh [OUT] — human chromosome X (GRCh37, its first 70 Mbp) from the Debian
# package smalt-examples, as one FASTA for DNA pretraining (next-base prediction), and, when
# krait-prepare is built, unlabelled token data split by region (test = the last 10%, valid = the
# 10% before it).
#
# OUT defaults to runs/datasets/human-chrx. Idempotent: finished steps are skipped.
set -euo pipefail
DS_NAME=human-chrx
source "$(dirname "$0")/lib.sh"
OUT="$(out_dir human-chrx "${1:-}")"
START=$SECONDS

PKG=smalt-examples
SRC="$(deb_root $PKG)/usr/share/doc/smalt/test/data/hs37chrXtrunc.fa.gz"
[[ -f "$SRC" ]] || die "no $SRC in $PKG"

if [[ ! -s "$OUT/chrX.fa" ]]; then
  log "decompressing $(basename "$SRC")"
  zcat "$SRC" | refold60 > "$OUT/chrX.fa.tmp"
  mv "$OUT/chrX.fa.tmp" "$OUT/chrX.fa"
fi
read -r RECS BASES NS < <(awk '/^>/{r++; next} { b += length($0); n += gsub(/[Nn]/, "") } END{ print r, b, n }' "$OUT/chrX.fa")

(cd "$OUT" && run_prepare "$OUT/prepared" dna --out "$OUT/prepared" --split region \
  --valid-fraction 0.1 --test-fraction 0.1 --seed 0 chrX.fa)

{
  echo "# human-chrx — human chromosome X, GRCh37, first 70 Mbp"
  echo
  echo "Built by \`tools/datasets/human-chrx.sh\` on $(date -u +%Y-%m-%d) from the Debian package:"
  echo
  source_line $PKG
  echo
  echo "Source file: \`usr/share/doc/smalt/test/data/hs37chrXtrunc.fa.gz\`, header"
  echo "\`$(head -n1 "$OUT/chrX.fa")\` (NCBI GRCh37 chrX, NC_000023.10, truncated by the smalt"
  echo "authors to its first 70 Mbp). The reference sequence itself is public (NCBI/GRC)."
  echo
  echo "What was done: decompressed and re-wrapped to 60 bases a line into \`chrX.fa\`: $RECS record,"
  echo "$BASES bases ($(awk -v b="$BASES" 'BEGIN{printf "%.2f", b/1e6}') Mbp), of which $NS are N (assembly gaps, incl. the"
  echo "telomere/PAR start). Case is kept (the file's own; Krait's DNA tokenizer folds case)."
  echo
  if [[ -e "$OUT/prepared/.done" ]]; then
    echo "\`prepared/\` (unlabelled, region split: test = the last 10%, valid = the 10% before):"
    echo "\`$(sed "s|$KRAIT_ROOT/||g" "$OUT/prepared/COMMAND.txt")\`"
  else
    echo "\`prepared/\`: not built (krait-prepare was not found when this ran)."
  fi
} > "$OUT/README.md"

log "done in $((SECONDS-START)) s: $OUT/chrX.fa: $RECS record, $(awk -v b="$BASES" 'BEGIN{printf "%.2f", b/1e6}') Mbp ($NS N), $(human_bytes "$(stat -c %s "$OUT/chrX.fa")")"
if [[ -e "$OUT/prepared/.done" ]]; then log "prepared: $(du -sh "$OUT/prepared" | cut -f1)"; fi
