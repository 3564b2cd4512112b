#!/usr/bin/env bash
# tools/datasets/piano.sh [OUT] — solo-piano audio for next-sample pretraining: the MIDI files of the
# Debian package openttd-openmsx (the OpenMSX music set of OpenTTD) rewritten to play every part on
# the acoustic grand piano (GM program 0; the drum channel 10 and bank selects dropped) with
# midicsv/csvmidi, rendered by fluidsynth with the FluidR3 GM soundfont (fluid-soundfont-gm) and
# turned by sox into 16 kHz, 16-bit mono WAV files in OUT/wav/. When krait-prepare is built:
# mu-law 8-bit token data, unlabelled, split by region (test = the last 10% of each piece, valid =
# the 10% before).
#
# OUT defaults to runs/datasets/piano. Idempotent: existing renderings are skipped.
set -euo pipefail
DS_NAME=piano
source "$(dirname "$0")/lib.sh"
OUT="$(out_dir piano "${1:-}")"
START=$SECONDS
JOBS="${KRAIT_PIANO_JOBS:-2}"

need_tool midicsv midicsv
need_tool fluidsynth fluidsynth
need_tool sox sox
SF2=/usr/share/sounds/sf2/FluidR3_GM.sf2
if [[ ! -f "$SF2" ]]; then
  DEBIAN_FRONTEND=noninteractive apt-get install -y fluid-soundfont-gm >/dev/null || die "cannot install fluid-soundfont-gm"
fi

PKG=openttd-openmsx
MIDI_DIR="$(deb_root $PKG)/usr/share/games/openttd/baseset/openmsx"
mapfile -t MIDIS < <(find "$MIDI_DIR" -name '*.mid' | sort)
((${#MIDIS[@]} > 0)) || die "no MIDI files in $MIDI_DIR"
mkdir -p "$OUT/wav" "$OUT/.tmp"

# render MIDI: piano-only MIDI -> fluidsynth (stereo, 16 kHz) -> sox: mono, 16-bit, leading and
# trailing silence cut, peak at -1 dBFS.
render() {
  local mid="$1" name
  name="$(basename "$mid" .mid)"
  local dst="$OUT/wav/$name.wav" tmp="$OUT/.tmp/$name"
  [[ -s "$dst" ]] && return 0
  # midicsv fields: track, time, type, channel, ... (channel 0-based: 9 is GM drums).
  midicsv "$mid" | awk -F', ' -v OFS=', ' '
    $3 ~ /^(Note_on_c|Note_off_c|Pitch_bend_c|Control_c|Program_c|Channel_aftertouch_c|Poly_aftertouch_c)$/ {
      if ($4 == 9) next                                  # drums: dropped
      if ($3 == "Control_c" && ($5 == 0 || $5 == 32)) next  # bank select: dropped
      if ($3 == "Program_c") { print $1, $2, $3, $4, 0; next }
    }
    { print }' | csvmidi > "$tmp.mid"
  fluidsynth -ni -q -g 0.5 -r 16000 -T wav -O s16 -F "$tmp.raw.wav" "$SF2" "$tmp.mid" >/dev/null 2>&1
  sox -V1 "$tmp.raw.wav" -b 16 "$tmp.wav" remix - rate 16000 \
    silence 1 0.05 0.1% reverse silence 1 0.05 0.1% reverse norm -1
  mv "$tmp.wav" "$dst" && rm -f "$tmp.raw.wav" "$tmp.mid"
}
export -f render
export OUT SF2

HAVE=$(find "$OUT/wav" -name '*.wav' | wc -l)
if ((HAVE < ${#MIDIS[@]})); then
  log "rendering $((${#MIDIS[@]} - HAVE)) of ${#MIDIS[@]} MIDI files as solo piano, $JOBS jobs"
  T0=$SECONDS
  printf '%s\n' "${MIDIS[@]}" | xargs -P "$JOBS" -I{} bash -c 'render "$1"' _ {}
  log "rendering took $((SECONDS - T0)) s"
fi
rm -rf "$OUT/.tmp"

# Durations.
(cd "$OUT" && for f in wav/*.wav; do printf '%s\t%s\n' "$f" "$(soxi -s "$f")"; done) > "$OUT/files.tsv"
N=$(wc -l < "$OUT/files.tsv")
((N == ${#MIDIS[@]})) || die "rendered $N of ${#MIDIS[@]} files"
SECS=$(awk -F'\t' '{ s += $2 } END{ printf "%.0f", s/16000 }' "$OUT/files.tsv")

(cd "$OUT" && run_prepare "$OUT/prepared" audio --out "$OUT/prepared" --sample-rate 16000 \
   --quantize mu-law --bits 8 --labels none --split region --valid-fraction 0.1 --test-fraction 0.1 \
   --seed 0 wav)

{
  echo "# piano — the OpenMSX music set rendered as solo piano, 16 kHz mono"
  echo
  echo "Built by \`tools/datasets/piano.sh\` on $(date -u +%Y-%m-%d) from the package:"
  echo
  source_line $PKG
  echo
  echo "with midicsv $(tool_version midicsv) (public domain), fluidsynth $(tool_version fluidsynth) (LGPL-2.1+),"
  echo "fluid-soundfont-gm $(tool_version fluid-soundfont-gm) (FluidR3_GM.sf2, MIT) and sox $(tool_version sox)."
  echo
  echo "What was done, for each of the $N MIDI files of \`usr/share/games/openttd/baseset/openmsx/\`:"
  echo "midicsv, then every Program_c set to 0 (acoustic grand piano), every event of MIDI channel 10"
  echo "(GM percussion) and every bank select (controllers 0 and 32) dropped, csvmidi; rendered by"
  echo "\`fluidsynth -ni -g 0.5 -r 16000 -T wav -O s16\` with FluidR3_GM.sf2; then"
  echo "\`sox ... -b 16 OUT.wav remix - rate 16000 silence 1 0.05 0.1% reverse silence 1 0.05 0.1% reverse norm -1\`"
  echo "(mono, leading/trailing silence cut, peak at -1 dBFS). The result is polyphonic piano"
  echo "(several parts of each arrangement on one instrument), not a solo-piano composition."
  echo
  echo "\`wav/\`: $N files, $SECS s ($(awk -v s="$SECS" 'BEGIN{printf "%.1f", s/60}') min) of audio; \`files.tsv\`: file and samples."
  echo
  if [[ -e "$OUT/prepared/.done" ]]; then
    echo "\`prepared/\` (mu-law 8-bit, unlabelled, region split: test = the last 10% of each file, valid"
    echo "= the 10% before): \`$(sed "s|$KRAIT_ROOT/||g" "$OUT/prepared/COMMAND.txt")\`"
  else
    echo "\`prepared/\`: not built (krait-prepare was not found when this ran)."
  fi
} > "$OUT/README.md"

log "done in $((SECONDS-START)) s: $OUT"
log "  wav/: $N files, $(awk -v s="$SECS" 'BEGIN{printf "%.1f", s/60}') min of 16 kHz mono audio, $(du -sh "$OUT/wav" | cut -f1)"
if [[ -e "$OUT/prepared/.done" ]]; then log "prepared: $(du -sh "$OUT/prepared" | cut -f1)"; fi
exit 0
