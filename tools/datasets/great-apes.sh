#!/usr/bin/env bash
# tools/datasets/great-apes.sh [OUT] — a Great-Apes species-classification set from real DNA:
# the Ensembl Compara EPO alignment of chromosome 22 of human, chimpanzee, gorilla and orangutan
# shipped in the Debian package maffilter-examples. One FASTA per species holding that species'
# aligned segments concatenated in alignment-block order (so a position fraction in one file
# corresponds to the same fraction of the others), a manifest file -> species, and, when
# krait-prepare is built, token data labelled by file and split by region (test = the last 10% of
# each sequence, valid = the 10% before it).
#
# OUT defaults to runs/datasets/great-apes. Idempotent: finished steps are skipped.
set -euo pipefail
DS_NAME=great-apes
source "$(dirname "$0")/lib.sh"
OUT="$(out_dir great-apes "${1:-}")"
START=$SECONDS

PKG=maffilter-examples
MAF="$(deb_root $PKG)/usr/share/doc/maffilter/examples/Gorilla/Compara.epo_5_catarrhini_hsap-projected.chr22.subset.nogap.cleaned_aln.maf.gz"
[[ -f "$MAF" ]] || die "no $MAF in $PKG"

mkdir -p "$OUT/fasta"
if [[ ! -e "$OUT/fasta/.done" ]]; then
  log "extracting the 4 species from $(basename "$MAF")"
  # Streams the alignment: for each 's' line, the species is field 2 up to the first '.', the
  # bases are field 7 without gaps; each species' bases go to its own file, 60 per line.
  zcat "$MAF" | awk -v dir="$OUT/fasta" '
    BEGIN {
      name["Hsap"] = "human";      latin["Hsap"] = "Homo sapiens"
      name["Ptro"] = "chimpanzee"; latin["Ptro"] = "Pan troglodytes"
      name["Ggor"] = "gorilla";    latin["Ggor"] = "Gorilla gorilla"
      name["Ppyg"] = "orangutan";  latin["Ppyg"] = "Pongo abelii (Ppyg)"
    }
    $1 == "a" { blocks++ }
    $1 == "s" {
      sp = $2; sub(/\..*/, "", sp)
      if (!(sp in name)) { printf "unknown species %s at line %d\n", $2, NR > "/dev/stderr"; exit 2 }
      f = dir "/" name[sp] ".fa"
      if (!(sp in started)) {
        started[sp] = 1
        printf ">%s_chr22_epo %s; chr22 EPO-aligned segments concatenated in alignment-block order\n", name[sp], latin[sp] > f
      }
      s = $7; gsub(/-/, "", s)
      buf[sp] = buf[sp] s; len[sp] += length(s); segs[sp]++; cum[sp, blocks] = len[sp]
      while (length(buf[sp]) >= 60) { print substr(buf[sp], 1, 60) > f; buf[sp] = substr(buf[sp], 61) }
    }
    END {
      for (sp in name) {
        if (!(sp in started)) { printf "species %s missing\n", sp > "/dev/stderr"; exit 2 }
        f = dir "/" name[sp] ".fa"
        if (buf[sp] != "") print buf[sp] > f
        close(f)
        printf "%s\t%s\t%d\t%d\n", name[sp], latin[sp], segs[sp], len[sp] > (dir "/.stats")
      }
      printf "%d\n", blocks > (dir "/.blocks")
      # Where the valid (80%) and test (90%) cut points of each species fall: alignment block index.
      for (sp in name) {
        line = name[sp]
        for (k = 8; k <= 9; k++) {
          t = len[sp] * k / 10
          for (i = 1; i < blocks && cum[sp, i] < t; i++) {}
          line = line "\t" i
        }
        print line > (dir "/.cuts")
      }
    }'
  touch "$OUT/fasta/.done"
fi

# The manifest: FASTA file -> species (keys are paths relative to OUT, as given to krait-prepare).
printf '#key\tclass\n' > "$OUT/manifest.tsv"
for s in human chimpanzee gorilla orangutan; do printf 'fasta/%s.fa\t%s\n' "$s" "$s"; done >> "$OUT/manifest.tsv"

# Token data: labels from the manifest (one class per file), split by region.
(cd "$OUT" && run_prepare "$OUT/prepared" dna --out "$OUT/prepared" --manifest manifest.tsv \
  --label-by file --split region --valid-fraction 0.1 --test-fraction 0.1 --seed 0 \
  fasta/human.fa fasta/chimpanzee.fa fasta/gorilla.fa fasta/orangutan.fa)

BLOCKS="$(cat "$OUT/fasta/.blocks")"
{
  echo "# great-apes — chr22 of human, chimpanzee, gorilla, orangutan"
  echo
  echo "Built by \`tools/datasets/great-apes.sh\` on $(date -u +%Y-%m-%d) from the Debian package:"
  echo
  source_line $PKG
  echo
  echo "Source file: \`usr/share/doc/maffilter/examples/Gorilla/$(basename "$MAF")\` — an Ensembl"
  echo "Compara EPO multiple alignment (5 catarrhini, human-projected), subset of chr22 without gaps,"
  echo "$BLOCKS alignment blocks, each holding one segment of each of the 4 species. Ensembl data are free"
  echo "to use (no restrictions); the example package is CeCILL."
  echo
  echo "What was done: for every \`s\` line, species = field 2 up to the first '.', sequence = field 7"
  echo "with the alignment gaps '-' removed; each species' segments were concatenated **in"
  echo "alignment-block order** into one record of \`fasta/<species>.fa\` (60 bases a line, case kept:"
  echo "lowercase = Ensembl soft-masked repeats; Krait's DNA tokenizer folds case). Because every block"
  echo "holds all 4 species, a position fraction of one file corresponds to (nearly) the same fraction"
  echo "of the others, so a region split (last 10% = test, 10% before = valid) holds out the same"
  echo "orthologous region of every species: the 80% and 90% cut points fall in these alignment blocks"
  echo "(of $BLOCKS): $(sort "$OUT/fasta/.cuts" | awk -F'\t' '{ printf "%s%s %d/%d", (NR>1?", ":""), $1, $2, $3 }')."
  echo "Junctions between blocks are artificial joins. The"
  echo "orthologous regions are ~98-99% identical, so classification is hard (as in the Mamba paper;"
  echo "bonobo, the paper's fifth species, is not in the package)."
  echo
  echo "| file | species | segments | bases | Mbp |"
  echo "|---|---|---|---|---|"
  awk -F'\t' '{ printf "| fasta/%s.fa | %s (%s) | %d | %d | %.2f |\n", $1, $1, $2, $3, $4, $4/1e6 }' "$OUT/fasta/.stats" | sort
  echo
  echo "\`manifest.tsv\`: FASTA file (relative to this folder) -> species."
  if [[ -e "$OUT/prepared/.done" ]]; then
    echo "\`prepared/\`: \`$(cat "$OUT/prepared/COMMAND.txt" | sed "s|$KRAIT_ROOT/||g")\`"
  else
    echo "\`prepared/\`: not built (krait-prepare was not found when this ran)."
  fi
} > "$OUT/README.md"

log "done in $((SECONDS-START)) s: $OUT"
awk -F'\t' '{ printf "  %-11s %6.2f Mbp (%d segments)\n", $1, $4/1e6, $3 }' "$OUT/fasta/.stats" | sort >&2
log "FASTA total $(human_bytes "$(cat "$OUT"/fasta/*.fa | wc -c)")${BLOCKS:+, $BLOCKS blocks}"
if [[ -e "$OUT/prepared/.done" ]]; then log "prepared: $(du -sh "$OUT/prepared" | cut -f1) in $OUT/prepared"; fi
