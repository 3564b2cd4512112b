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
# Species with several strains: their files alone, for the strain-held-out split.
awk -F'\t' 'NR>1 { split($1, p, "/"); n[p[2]]++; l[p[2]] = l[p[2]] $0 "\n" }
            END { for (s in n) if (n[s] > 1) printf "%s", l[s] }' "$OUT/manifest.tsv" | sort > "$OUT/manifest-strains.tsv"

# -- token data ----------------------------------------------------------------------------------------
mapfile -t ALL < <(cut -f1 "$OUT/files.tsv")
mapfile -t MULTI < <(cut -f1 "$OUT/manifest-strains.tsv")
(cd "$OUT" && run_prepare "$OUT/prepared" dna --out "$OUT/prepared" --manifest manifest.tsv \
   --label-by file --split region --valid-fraction 0.1 --test-fraction 0.1 --seed 0 "${ALL[@]}")
(cd "$OUT" && run_prepare "$OUT/prepared-by-strain" dna --out "$OUT/prepared-by-strain" \
   --manifest manifest-strains.tsv --label-by file --split group --group-regex '([^/]+)\.fa$' \
   --valid-fraction 0.2 --test-fraction 0.2 --seed 0 "${MULTI[@]}")

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
  echo "\`manifest-strains.tsv\`: the files of the species with several strains."
  echo
  for d in prepared prepared-by-strain; do
    if [[ -e "$OUT/$d/.done" ]]; then echo "\`$d/\`: \`$(sed "s|$KRAIT_ROOT/||g" "$OUT/$d/COMMAND.txt")\`"
    else echo "\`$d/\`: not built (krait-prepare was not found when this ran)."; fi
    echo
  done
  echo "\`prepared/\` splits every record by region (test = its last 10%, valid = the 10% before), so all"
  echo "10 species are in every split. \`prepared-by-strain/\` holds whole strains out (group = file name),"
  echo "for the 6 species that have 3-5 strains: a harder test of generalisation to unseen strains."
} > "$OUT/README.md"

log "done in $((SECONDS-START)) s: $OUT"
printf '  %-26s %7s %8s %8s\n' species strains records Mbp >&2
{ echo "$SUMMARY" | grep -v total; echo "$SUMMARY" | grep total; } | tr -d '*' | awk -F' *\\| *' '{ printf "  %-26s %7s %8s %8s\n", $2, $3, $4, $5 }' >&2
for d in prepared prepared-by-strain; do
  [[ -e "$OUT/$d/.done" ]] && log "$d: $(du -sh "$OUT/$d" | cut -f1)"
done
exit 0
