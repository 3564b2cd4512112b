#!/usr/bin/env bash
# tools/datasets/microbes.sh [OUT] — a 10-species DNA classification set from real genomes in Debian
# packages: bacteria (E. coli, S. aureus, H. pylori, V. cholerae, K. pneumoniae), parasites
# (P. falciparum, P. knowlesi), fungi (Z. tritici, U. maydis) and phage lambda. One FASTA per
# genome/strain under fasta/<species>/<strain>.fa, a manifest file -> species, and, when krait-prepare
# is built, token data labelled by file: split by region (every species; the last 10% of each record
# is test, the 10% before valid) and, for the 6 species with several strains, also by strain.
#
# OUT defaults to runs/datasets/microbes. Idempotent: finished steps are skipped.
set -euo pipefail
DS_NAME=microbes
source "$(dirname "$0")/lib.sh"
OUT="$(out_dir microbes "${1:-}")"
START=$SECONDS
FA="$OUT/fasta"
mkdir -p "$FA"

# put SPECIES STRAIN SRC_FILE: decompress (gz/xz/plain) and re-wrap one genome into fasta/SPECIES/STRAIN.fa.
put() {
  local sp="$1" strain="$2" src="$3" dst="$FA/$1/$2.fa"
  [[ -s "$dst" ]] && return 0
  [[ -f "$src" ]] || die "missing $src"
  mkdir -p "$FA/$sp"
  case "$src" in
    *.gz) zcat "$src" ;; *.xz) xzcat "$src" ;; *) cat "$src" ;;
  esac | refold60 > "$dst.tmp"
  mv "$dst.tmp" "$dst"
}

# -- ragout-examples: 4 bacteria, several complete strains each (NCBI RefSeq/GenBank) ---------------
R="$(deb_root ragout-examples)/usr/share/doc/ragout/examples"
for pair in E.Coli:Escherichia_coli S.Aureus:Staphylococcus_aureus H.Pylori:Helicobacter_pylori \
            V.Cholerae:Vibrio_cholerae; do
  dir="${pair%%:*}" sp="${pair#*:}"
  for f in "$R/$dir"/references/*.fasta.gz; do put "$sp" "$(basename "$f" .fasta.gz)" "$f"; done
done
# -- bowtie-examples: E. coli 536 (a third E. coli strain) ---------------------------------------------
put Escherichia_coli 536 "$(deb_root bowtie-examples)/usr/share/doc/bowtie/examples/genomes/NC_008253.fna.gz"
# -- bowtie2-examples: phage lambda --------------------------------------------------------------------
put Escherichia_phage_lambda lambda "$(deb_root bowtie2-examples)/usr/share/doc/bowtie2/examples/reference/lambda_virus.fa.gz"
# -- kleborate-examples: 4 K. pneumoniae genomes (chromosome + plasmids) -------------------------------
K="$(deb_root kleborate-examples)/usr/share/doc/kleborate/examples/data"
for f in "$K"/*.fna.xz; do put Klebsiella_pneumoniae "$(basename "$f" .fna.xz)" "$f"; done
# -- smalt-examples: P. falciparum (14 chromosomes MAL1-14) and P. knowlesi (1840 contigs) ----------
S="$(deb_root smalt-examples)/usr/share/doc/smalt/test/data"
put Plasmodium_falciparum genome_1 "$S/genome_1.fa.gz"
put Plasmodium_knowlesi cigar_ref "$S/cigar_ref.fa.gz"
# -- maffilter-examples: U. maydis genome; Z. tritici strains out of the TBA alignment ----------------
M="$(deb_root maffilter-examples)/usr/share/doc/maffilter/examples"
put Ustilago_maydis Umaydis "$M/Umaydis/Umaydis.fasta.gz"
if [[ ! -e "$FA/Zymoseptoria_tritici/.done" ]]; then
  log "extracting the Z. tritici strains from Ztritici/tba_refIPO323.maf.gz"
  mkdir -p "$FA/Zymoseptoria_tritici"
  # Each 's' line of a Ztritici_* strain: its bases (gaps removed) keyed by (strain, first-seen rank of
  # its scaffold); a stable sort groups them per scaffold in alignment-block order.
  zcat "$M/Ztritici/tba_refIPO323.maf.gz" |
    awk -v OFS='\t' '$1=="s" && $2 ~ /^Ztritici_/ {
        src = $2; strain = src; sub(/\..*/, "", strain); sub(/^Ztritici_/, "", strain)
        if (!(src in rank)) rank[src] = ++n
        s = $7; gsub(/-/, "", s); if (s != "") print strain, rank[src], src, s }' |
    LC_ALL=C sort -s -t $'\t' -k1,1 -k2,2n -S 512M -T "$OUT" |
    awk -F'\t' -v dir="$FA/Zymoseptoria_tritici" '
      function flush() { if (buf != "") print buf > f; buf = "" }
      $1 != strain { flush(); if (f) close(f); strain = $1; f = dir "/" strain ".fa.tmp"; cur = "" }
      $3 != cur { flush(); cur = $3; print ">" cur > f }
      { buf = buf $4; while (length(buf) >= 60) { print substr(buf, 1, 60) > f; buf = substr(buf, 61) } }
      END { flush() }'
  for f in "$FA/Zymoseptoria_tritici"/*.fa.tmp; do mv "$f" "${f%.tmp}"; done
  touch "$FA/Zymoseptoria_tritici/.done"
fi

# -- statistics and the manifest ---------------------------------------------------------------------
(cd "$OUT" && for f in fasta/*/*.fa; do
   awk -v f="$f" '/^>/{r++; next} {b+=length($0)} END{printf "%s\t%d\t%d\n", f, r, b}' "$f"; done) > "$OUT/files.tsv"
awk -F'\t' 'BEGIN{ print "#key\tclass" } { split($1, p, "/"); print $1 "\t" p[2] }' "$OUT/files.tsv" > "$OUT/manifest.tsv"
# -- token data ----------------------------------------------------------------------------------------
# 1. prepared/: every record split by region (krait-prepare --split region).
mapfile -t ALL < <(cut -f1 "$OUT/files.tsv")
(cd "$OUT" && run_prepare "$OUT/prepared" dna --out "$OUT/prepared" --manifest manifest.tsv \
   --label-by file --split region --valid-fraction 0.1 --test-fraction 0.1 --seed 0 "${ALL[@]}")

# 2. prepared-by-strain/: species with several strains hold whole strains out (this table: one valid
# and one test strain each, the rest train); single-strain species are split by region (every record:
# first 80% train, next 10% valid, last 10% test, cut here into regions/PART/). krait-prepare's group
# split assigns groups globally, not per class (a species could miss a part), so the parts are listed
# here and written with --split none --name PART, one run each, against one manifest (same classes).
declare -A HOLDOUT=(   # species -> "valid-strain test-strain"
  [Escherichia_coli]="DH1 536"
  [Helicobacter_pylori]="SJM180 Gambia94_24"
  [Klebsiella_pneumoniae]="MGH78578 NTUH-K2044"
  [Staphylococcus_aureus]="JKD6008 USA300_FPR3757"
  [Vibrio_cholerae]="H1 O1_Inaba"
  [Zymoseptoria_tritici]="A48b A26b"
)
if [[ ! -e "$OUT/regions/.done" ]]; then
  rm -rf "$OUT/regions"
  for f in "${ALL[@]}"; do
    sp="$(basename "$(dirname "$f")")"
    [[ -n "${HOLDOUT[$sp]:-}" ]] && continue
    for part in train valid test; do mkdir -p "$OUT/regions/$part/$sp"; done
    # Each record's lines are kept (not one growing string: quadratic), then streamed out: bases
    # [0, n-v-t) to train, the next v to valid, the last t to test (v = t = floor(n/10)).
    awk -v tr="$OUT/regions/train/$sp/$(basename "$f")" -v va="$OUT/regions/valid/$sp/$(basename "$f")" \
        -v te="$OUT/regions/test/$sp/$(basename "$f")" '
      function flush(   k) { if (cur == "") return; k = length(buf); if (k) print buf > cur; buf = ""; cur = "" }
      function emit(s,   file, lim, take) {
        while (s != "") {
          if (pos < b1) { file = tr; lim = b1 } else if (pos < b2) { file = va; lim = b2 } else { file = te; lim = n }
          if (file != cur) { flush(); cur = file; print head > cur }
          take = lim - pos; if (take > length(s)) take = length(s)
          buf = buf substr(s, 1, take); s = substr(s, take + 1); pos += take
          while (length(buf) >= 60) { print substr(buf, 1, 60) > cur; buf = substr(buf, 61) }
        }
      }
      function cut(   i) {
        if (head == "") return
        b1 = n - 2 * int(n / 10); b2 = n - int(n / 10); pos = 0
        for (i = 1; i <= k; i++) emit(L[i])
        flush(); delete L; k = 0; n = 0
      }
      /^>/ { cut(); head = $0; next }
      { L[++k] = $0; n += length($0) }
      END { cut() }' "$OUT/$f"
  done
  touch "$OUT/regions/.done"
fi
declare -A PARTS=()
for f in "${ALL[@]}"; do
  sp="$(basename "$(dirname "$f")")" strain="$(basename "$f" .fa)"
  if [[ -n "${HOLDOUT[$sp]:-}" ]]; then
    read -r hv ht <<< "${HOLDOUT[$sp]}"
    part="train"; [[ "$strain" == "$hv" ]] && part="valid"; [[ "$strain" == "$ht" ]] && part="test"
    PARTS[$part]+="$f"$'\n'
  else
    for part in train valid test; do
      [[ -s "$OUT/regions/$part/$sp/$strain.fa" ]] && PARTS[$part]+="regions/$part/$sp/$strain.fa"$'\n'
    done
  fi
done
for h in "${!HOLDOUT[@]}"; do   # every held-out strain must exist
  for x in ${HOLDOUT[$h]}; do [[ -f "$FA/$h/$x.fa" ]] || die "held-out strain $h/$x has no file"; done
done
{ printf '#key\tclass\n'
  for part in train valid test; do printf '%s' "${PARTS[$part]:-}"; done |
    awk -F/ 'NF { print $0 "\t" $(NF-1) }' | sort -t $'\t' -k2,2 -k1,1; } > "$OUT/manifest-by-strain.tsv"
if [[ -n "$(find_prepare)" && ! -e "$OUT/prepared-by-strain/.done" ]]; then
  rm -rf "$OUT/prepared-by-strain"
  for part in train valid test; do
    mapfile -t FILES < <(printf '%s' "${PARTS[$part]:-}")
    (cd "$OUT" && run_prepare "$OUT/prepared-by-strain/.$part" dna --out "$OUT/prepared-by-strain" \
       --manifest manifest-by-strain.tsv --label-by file --split none --name $part "${FILES[@]}")
    mv "$OUT/prepared-by-strain/dataset.yaml" "$OUT/prepared-by-strain/$part.yaml"
    cat "$OUT/prepared-by-strain/.$part/COMMAND.txt" >> "$OUT/prepared-by-strain/COMMAND.txt"
  done
  rm -rf "$OUT/prepared-by-strain"/.{train,valid,test}
  touch "$OUT/prepared-by-strain/.done"
fi

# -- README --------------------------------------------------------------------------------------------
SUMMARY="$(awk -F'\t' '{ split($1, p, "/"); sp = p[2]; n[sp]++; r[sp] += $2; b[sp] += $3; t += $3 }
  END { for (s in n) printf "| %s | %d | %d | %.2f |\n", s, n[s], r[s], b[s]/1e6; printf "| **total** | | | %.2f |\n", t/1e6 }' "$OUT/files.tsv" | sort)"
{
  echo "# microbes — 10 species of bacteria, parasites, fungi and a phage"
  echo
  echo "Built by \`tools/datasets/microbes.sh\` on $(date -u +%Y-%m-%d) from these Debian packages:"
  echo
  for p in ragout-examples bowtie-examples bowtie2-examples kleborate-examples smalt-examples maffilter-examples; do source_line $p; done
  echo
  echo "| species (class) | strains (files) | records | Mbp |"
  echo "|---|---|---|---|"
  echo "$SUMMARY" | grep -v total; echo "$SUMMARY" | grep total
  echo
  echo "Where each came from (the genome data are public NCBI/Ensembl/Sanger sequences):"
  echo
  echo "- *E. coli* DH1, MG1655-K12, *S. aureus* COL, JKD6008, N315, RF122, USA300_FPR3757, *H. pylori*"
  echo "  ELS37, G27, Gambia94_24, Puno120, SJM180, *V. cholerae* H1, O1_Inaba, O1_biovar (N16961), O395"
  echo "  (2 chromosomes each): ragout-examples \`examples/*/references/*.fasta.gz\`, complete genomes."
  echo "- *E. coli* 536 (NC_008253): bowtie-examples \`genomes/NC_008253.fna.gz\`."
  echo "- phage lambda (NC_001416, 48.5 kbp): bowtie2-examples \`reference/lambda_virus.fa.gz\`."
  echo "- *K. pneumoniae* HS11286, Kp1084, MGH78578, NTUH-K2044 (chromosome + plasmids): kleborate-examples"
  echo "  \`data/*.fna.xz\` (NCBI GenBank assemblies, see its get-data script)."
  echo "- *P. falciparum* (\`genome_1.fa.gz\`, chromosomes MAL1-MAL14, 3D7 reference lengths) and *P. knowlesi*"
  echo "  (\`cigar_ref.fa.gz\`, 1840 contigs named Pk.*): smalt-examples \`test/data/\`; each one strain."
  echo "- *U. maydis* (\`Umaydis/Umaydis.fasta.gz\`, 36 records): maffilter-examples."
  echo "- *Z. tritici* IPO323, A26b, A48b: the Ztritici_* rows of maffilter-examples"
  echo "  \`Ztritici/tba_refIPO323.maf.gz\` (a TBA/multiz alignment of 13 Zymoseptoria genomes on IPO323):"
  echo "  gaps removed, one record per source chromosome/scaffold holding its aligned segments in"
  echo "  alignment-block order (IPO323, the reference, is covered almost whole; A26b and A48b only where"
  echo "  they align; segments on the '-' strand are reverse-complemented as in the alignment; joins"
  echo "  between segments are artificial). The other Zymoseptoria species of the alignment are not used."
  echo
  echo "All genomes were decompressed and re-wrapped to 60 bases a line; headers and case are kept."
  echo "\`files.tsv\`: file, records, bases. \`manifest.tsv\`: file (relative to this folder) -> species."
  echo "\`manifest-by-strain.tsv\`: the same for the files of the by-strain split (incl. \`regions/\`)."
  echo
  echo "Two tokenized versions (DNA tokenizer, vocab 7; the same 10 classes, alphabetical, in both):"
  echo
  echo "- \`prepared/\` splits every record by region (test = its last 10%, valid = the 10% before), so"
  echo "  every strain of every species is in every part."
  if [[ -e "$OUT/prepared/.done" ]]; then echo "  Command: \`$(sed "s|$KRAIT_ROOT/||g" "$OUT/prepared/COMMAND.txt")\`"
  else echo "  Not built: krait-prepare was not found when this ran."; fi
  echo "- \`prepared-by-strain/\` holds whole strains out where a species has several (valid / test strain:"
  for h in $(printf '%s\n' "${!HOLDOUT[@]}" | sort); do
    read -r hv ht <<< "${HOLDOUT[$h]}"; echo "  $h $hv / $ht;"
  done
  echo "  all other strains train) and splits the 4 single-strain species by region (each record cut"
  echo "  80/10/10 by this script into \`regions/{train,valid,test}/\`): a test of generalisation to unseen"
  echo "  strains. krait-prepare's group split assigns groups globally, not per species (a species could"
  echo "  miss a part), so each part was written by its own run with \`--split none --name PART\` against"
  echo "  \`manifest-by-strain.tsv\` (one class list); each run's summary is kept as \`PART.yaml\`."
  if [[ -e "$OUT/prepared-by-strain/.done" ]]; then
    echo "  Commands:"; echo; echo '```'; sed "s|$KRAIT_ROOT/||g" "$OUT/prepared-by-strain/COMMAND.txt"; echo '```'
  else echo "  Not built: krait-prepare was not found when this ran."; fi
  echo
  echo "Caveat: *Z. tritici* has 100 Mbp (41% of the bases) and phage lambda 48.5 kbp; weight or sample"
  echo "per class if that matters."
} > "$OUT/README.md"

log "done in $((SECONDS-START)) s: $OUT"
printf '  %-26s %7s %8s %8s\n' species strains records Mbp >&2
{ echo "$SUMMARY" | grep -v total; echo "$SUMMARY" | grep total; } | tr -d '*' | awk -F' *\\| *' '{ printf "  %-26s %7s %8s %8s\n", $2, $3, $4, $5 }' >&2
for d in prepared prepared-by-strain; do
  [[ -e "$OUT/$d/.done" ]] && log "$d: $(du -sh "$OUT/$d" | cut -f1)"
done
exit 0
