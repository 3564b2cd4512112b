#!/usr/bin/env bash
# tools/datasets/spoken-digits.sh [OUT] — an SC09-like spoken-digit set: "zero".."nine" synthesised
# by espeak-ng in 96 voices (8 English accents x 12 voice variants f1-f5, m1-m7), 4 speed/pitch
# settings each, as 1 s, 16 kHz, 16-bit mono WAV files in OUT/wav/<digit>/<voice>_<speed>_<pitch>.wav
# (class = folder), plus an out-of-domain test set: the recorded digits 0-9 of
# asterisk-core-sounds-en-wav (one human speaker, 8 kHz) resampled the same way into
# OUT/asterisk/<digit>/. When krait-prepare is built: labels from folders, split by voice (no voice
# in two splits); the recorded digits as a test-only set.
#
# OUT defaults to runs/datasets/spoken-digits. Idempotent: existing clips are skipped.
# KRAIT_DIGITS_JOBS (default 2) sets the parallelism.
set -euo pipefail
DS_NAME=spoken-digits
source "$(dirname "$0")/lib.sh"
OUT="$(out_dir spoken-digits "${1:-}")"
START=$SECONDS
JOBS="${KRAIT_DIGITS_JOBS:-2}"

need_tool espeak-ng espeak-ng
need_tool sox sox

DIGITS=(zero one two three four five six seven eight nine)
# The English voices espeak-ng itself speaks (gmw/*; the mb/* ones need MBROLA voices, not installed).
mapfile -t ACCENTS < <(espeak-ng --voices=en | awk 'NR > 1 && $5 ~ /^gmw\// { print $2 }' | sort -u)
VARIANTS=(f1 f2 f3 f4 f5 m1 m2 m3 m4 m5 m6 m7)
SPEEDS=(120 145 170 195 220)   # words per minute
PITCHES=(20 35 50 65 80)       # 0-99
PER_VOICE=4                     # speed/pitch settings per voice, each speaking all 10 digits
((${#ACCENTS[@]} > 0)) || die "espeak-ng lists no English voices"

# The job list: digit word voice speed pitch. Voice v uses speeds S[(v+i)%5] and pitches
# P[(3v+2i)%5] for i < PER_VOICE: 4 distinct speeds and pitches each, all settings covered overall.
JOBLIST="$OUT/.jobs"
v=0
for a in "${ACCENTS[@]}"; do
  for var in "${VARIANTS[@]}"; do
    for ((i = 0; i < PER_VOICE; i++)); do
      s=${SPEEDS[$(((v + i) % 5))]} p=${PITCHES[$(((3 * v + 2 * i) % 5))]}
      for d in "${!DIGITS[@]}"; do echo "${DIGITS[$d]} $a+$var $s $p"; done
    done
    v=$((v + 1))
  done
done > "$JOBLIST"

# make_clip WORD VOICE SPEED PITCH: one clip, unless it exists (written to a temp name, then renamed).
make_clip() {
  local word="$1" voice="$2" speed="$3" pitch="$4"
  local dst="$OUT/wav/$word/${voice}_${speed}_${pitch}.wav"
  [[ -s "$dst" ]] && return 0
  local tmp="$OUT/.tmp/$word.${voice}_${speed}_${pitch}"
  espeak-ng -v "$voice" -s "$speed" -p "$pitch" -w "$tmp.raw.wav" "$word"
  sox -V1 "$tmp.raw.wav" -r 16000 -b 16 -c 1 "$tmp.wav" norm -3 pad 0 1 trim 0 1
  mv "$tmp.wav" "$dst" && rm -f "$tmp.raw.wav"
}
export -f make_clip
export OUT

TOTAL=$(wc -l < "$JOBLIST")
for d in "${DIGITS[@]}"; do mkdir -p "$OUT/wav/$d"; done
mkdir -p "$OUT/.tmp"
HAVE=$(find "$OUT/wav" -name '*.wav' | wc -l)
if ((HAVE < TOTAL)); then
  log "synthesising $((TOTAL - HAVE)) of $TOTAL clips (${#ACCENTS[@]} accents x ${#VARIANTS[@]} variants x $PER_VOICE settings x 10 digits), $JOBS jobs"
  T0=$SECONDS
  xargs -P "$JOBS" -L 1 bash -c 'make_clip "$@"' _ < "$JOBLIST"
  log "synthesis took $((SECONDS - T0)) s"
fi
rm -rf "$OUT/.tmp"

# The recorded digits (Allison, 8 kHz), resampled to 16 kHz, 1 s, into asterisk/<digit word>/.
APKG=asterisk-core-sounds-en-wav
ADIR="$(deb_root $APKG)/usr/share/asterisk/sounds/en_US_f_Allison/digits"
for n in "${!DIGITS[@]}"; do
  d="${DIGITS[$n]}" dst="$OUT/asterisk/${DIGITS[$n]}/allison_$n.wav"
  [[ -s "$dst" ]] && continue
  [[ -f "$ADIR/$n.wav" ]] || die "no $ADIR/$n.wav"
  mkdir -p "$OUT/asterisk/$d"
  sox -V1 "$ADIR/$n.wav" -r 16000 -b 16 -c 1 "$dst.tmp.wav" norm -3 pad 0 1 trim 0 1
  mv "$dst.tmp.wav" "$dst"
done

# A check: every clip is 16 kHz, mono, 16-bit, 16000 samples (1 s).
NSYN=$(find "$OUT/wav" -name '*.wav' | wc -l)
NAST=$(find "$OUT/asterisk" -name '*.wav' | wc -l)
BAD=$(find "$OUT/wav" "$OUT/asterisk" -name '*.wav' -size -32044c | wc -l)
((NSYN == TOTAL)) || die "have $NSYN of $TOTAL synthetic clips"
((BAD == 0)) || die "$BAD clips shorter than 1 s"
sample="$(find "$OUT/wav" -name '*.wav' -print -quit)"
[[ "$(soxi -r "$sample") $(soxi -c "$sample") $(soxi -b "$sample") $(soxi -s "$sample")" == "16000 1 16 16000" ]] ||
  die "$sample is not 16 kHz mono 16-bit 1 s"

# Token data. Group = the voice (accent+variant) in the file name, so no voice is in two splits.
(cd "$OUT" && run_prepare "$OUT/prepared" audio --out "$OUT/prepared" --sample-rate 16000 \
   --quantize mu-law --bits 8 --labels folder --clip-samples 16000 --split group \
   --group-regex '([^/_]+)_[0-9]+_[0-9]+\.wav$' --valid-fraction 0.1 --test-fraction 0.1 --seed 0 wav)
(cd "$OUT" && run_prepare "$OUT/prepared-asterisk" audio --out "$OUT/prepared-asterisk" \
   --sample-rate 16000 --quantize mu-law --bits 8 --labels folder --clip-samples 16000 --test-only asterisk)

HOURS=$(awk -v n="$NSYN" 'BEGIN{ printf "%.2f", n/3600 }')
{
  echo "# spoken-digits — an SC09-like set of spoken digits"
  echo
  echo "Built by \`tools/datasets/spoken-digits.sh\` on $(date -u +%Y-%m-%d) with espeak-ng"
  echo "$(tool_version espeak-ng) (GPL-3+) and sox $(tool_version sox) (GPL-2+/LGPL), and from the package:"
  echo
  source_line $APKG
  echo
  echo "\`wav/<digit>/<voice>_<speed>_<pitch>.wav\`: $NSYN clips ($HOURS h), 10 classes zero..nine (class ="
  echo "folder), $(( ${#ACCENTS[@]} * ${#VARIANTS[@]} )) voices = ${#ACCENTS[@]} espeak-ng English accents (${ACCENTS[*]})"
  echo "x ${#VARIANTS[@]} voice variants (+${VARIANTS[*]}); each voice speaks every digit at $PER_VOICE"
  echo "speed/pitch settings drawn from speeds {${SPEEDS[*]}} wpm and pitches {${PITCHES[*]}} (see the script)."
  echo "Each clip: \`espeak-ng -v VOICE -s SPEED -p PITCH -w t.wav WORD\` then"
  echo "\`sox t.wav -r 16000 -b 16 -c 1 out.wav norm -3 pad 0 1 trim 0 1\`: 1 s, 16 kHz, 16-bit mono,"
  echo "peak at -3 dBFS, the word at the start (espeak's ~20 ms lead-in) then silence. Synthetic speech"
  echo "is far more regular than SC09's recordings: expect higher accuracy than on real speech."
  echo
  echo "\`asterisk/<digit>/allison_N.wav\`: $NAST clips, the recorded digits 0-9 of the Asterisk prompts"
  echo "(\`usr/share/asterisk/sounds/en_US_f_Allison/digits/N.wav\`, one female speaker, 8 kHz telephone"
  echo "audio, CC-BY-SA-3.0) resampled by sox to 16 kHz, 1 s, the same way: an out-of-domain test set"
  echo "(real voice, band-limited to 4 kHz). Only one clip per digit: 10 clips in all."
  echo
  for d in prepared prepared-asterisk; do
    if [[ -e "$OUT/$d/.done" ]]; then echo "\`$d/\`: \`$(sed "s|$KRAIT_ROOT/||g" "$OUT/$d/COMMAND.txt")\`"
    else echo "\`$d/\`: not built (krait-prepare was not found when this ran)."; fi
    echo
  done
  echo "\`prepared/\` splits by voice (the group is the accent+variant in the file name), so the"
  echo "valid and test voices are never heard in training; \`prepared-asterisk/\` is all test."
  if [[ -f "$OUT/prepared/dataset.yaml" ]]; then
    echo "Voices per part (train / valid / test): $(awk '/groups:/ { n = gsub(/", "/, ""); printf "%s%d", (k++ ? " / " : ""), n + 1 }' "$OUT/prepared/dataset.yaml")."
  fi
  echo "Accents and variants themselves recur across parts (only their combinations are held out); to"
  echo "hold out whole accents, group by \`--group-regex '/(en[^+/]*)[+]'\` instead."
  echo "Classes are numbered in the folders' (alphabetical) order in both datasets, so their ids agree:"
  echo "eight, five, four, nine, one, seven, six, three, two, zero."
} > "$OUT/README.md"

log "done in $((SECONDS-START)) s: $OUT"
log "  wav/: $NSYN clips, $HOURS h, 10 classes, $(( ${#ACCENTS[@]} * ${#VARIANTS[@]} )) voices, $(du -sh "$OUT/wav" | cut -f1)"
log "  asterisk/: $NAST clips (out-of-domain test)"
for d in "${DIGITS[@]}"; do printf '    %-6s %5d\n' "$d" "$(find "$OUT/wav/$d" -name '*.wav' | wc -l)"; done >&2
for d in prepared prepared-asterisk; do
  [[ -e "$OUT/$d/.done" ]] && log "$d: $(du -sh "$OUT/$d" | cut -f1)"
done
exit 0
