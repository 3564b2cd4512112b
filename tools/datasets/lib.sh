# tools/datasets/lib.sh — helpers shared by the dataset scripts (source it; do not run it).
# shellcheck shell=bash
#
# Packages are fetched with `apt-get download` into a cache ($KRAIT_DEB_CACHE, default
# runs/datasets/.debs) and unpacked with `dpkg -x` (no root needed for that); tools that must run
# (espeak-ng, sox, fluidsynth, midicsv) are installed with `apt-get install -y` when missing.

KRAIT_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
DEB_CACHE="${KRAIT_DEB_CACHE:-$KRAIT_ROOT/runs/datasets/.debs}"

log() { printf '[%s %s] %s\n' "$(date +%H:%M:%S)" "${DS_NAME:-datasets}" "$*" >&2; }
die() { log "error: $*"; exit 1; }

# out_dir NAME [ARG]: the output folder (ARG, or runs/datasets/NAME under the repository), created.
out_dir() {
  local d="${2:-$KRAIT_ROOT/runs/datasets/$1}"
  mkdir -p "$d"
  (cd "$d" && pwd)
}

# deb_file PKG: the cached .deb of PKG, downloading it first when it is not there.
deb_file() {
  local pkg="$1" f
  mkdir -p "$DEB_CACHE"
  f="$(compgen -G "$DEB_CACHE/${pkg}_*.deb" | sed -n 1p || true)"
  if [[ -z "$f" ]]; then
    log "apt-get download $pkg"
    (cd "$DEB_CACHE" && apt-get download "$pkg" >/dev/null 2>&1) ||
      (cd "$DEB_CACHE" && apt-get download "$pkg") || die "apt-get download $pkg failed"
    f="$(compgen -G "$DEB_CACHE/${pkg}_*.deb" | sed -n 1p)"
  fi
  printf '%s\n' "$f"
}

# deb_root PKG: a folder holding PKG's files (dpkg -x of the cached .deb, done once).
deb_root() {
  local pkg="$1" deb dest
  deb="$(deb_file "$pkg")"
  dest="$DEB_CACHE/root/$(basename "$deb" .deb)"
  if [[ ! -e "$dest/.extracted" ]]; then
    rm -rf "$dest" && mkdir -p "$dest"
    dpkg -x "$deb" "$dest"
    touch "$dest/.extracted"
  fi
  printf '%s\n' "$dest"
}

# deb_version PKG: the version of the cached .deb (of what the data came from).
deb_version() { dpkg-deb -f "$(deb_file "$1")" Version; }

# deb_licenses PKG: the distinct licence names its debian/copyright declares, comma-separated.
deb_licenses() {
  local root c
  root="$(deb_root "$1")"
  c="$(compgen -G "$root/usr/share/doc/*/copyright" | sed -n 1p || true)"
  if [[ -z "$c" ]]; then echo "(see the package's copyright file)"; return; fi
  awk '/^License:/{ $1=""; sub(/^ +/,""); if (!seen[$0]++) out = out (out?", ":"") $0 }
       END{ print (out ? out : "(free text; see copyright)") }' "$c"
}

# source_line PKG: "PKG VERSION (licences: ...)" for SOURCES.txt / README.md.
source_line() { printf -- '- `%s` %s — licences (debian/copyright): %s\n' "$1" "$(deb_version "$1")" "$(deb_licenses "$1")"; }

# tool_version PKG: the installed version of a tool's package.
tool_version() { dpkg-query -W -f '${Version}' "$1" 2>/dev/null || echo "?"; }

# need_tool CMD PKG: install PKG with apt-get when CMD is not on PATH.
need_tool() {
  command -v "$1" >/dev/null 2>&1 && return 0
  log "installing $2 (for $1)"
  DEBIAN_FRONTEND=noninteractive apt-get install -y "$2" >/dev/null || die "apt-get install $2 failed"
  command -v "$1" >/dev/null 2>&1 || die "$1 still missing after installing $2"
}

# find_prepare: the krait-prepare binary ($KRAIT_PREPARE, or the first build that has one); empty if none.
find_prepare() {
  if [[ -n "${KRAIT_PREPARE:-}" ]]; then printf '%s\n' "$KRAIT_PREPARE"; return; fi
  local c
  for c in "$KRAIT_ROOT"/build/tools/prepare/krait-prepare "$KRAIT_ROOT"/build/tools/krait-prepare \
           "$KRAIT_ROOT"/build*/tools/prepare/krait-prepare "$KRAIT_ROOT"/build*/tools/krait-prepare; do
    if [[ -x "$c" ]]; then printf '%s\n' "$c"; return; fi
  done
}

# run_prepare OUTDIR ARGS...: run `krait-prepare ARGS...` once (stamp OUTDIR/.done); skip it with a
# note when no binary is built yet (run the script again after building it: only this step reruns).
run_prepare() {
  local out="$1"; shift
  local bin
  bin="$(find_prepare)"
  if [[ -z "$bin" ]]; then
    log "krait-prepare is not built (looked under build*/tools/); skipping: $*"
    log "build it (tools/build.sh) and run this script again to prepare the data"
    return 0
  fi
  if [[ -e "$out/.done" ]]; then log "prepared already: $out"; return 0; fi
  rm -rf "$out"
  log "$(basename "$bin") $*"
  "$bin" "$@"
  mkdir -p "$out" && touch "$out/.done"
  printf '%s %s\n' "$bin" "$*" > "$out/COMMAND.txt"
}

# human_bytes N
human_bytes() { awk -v n="$1" 'BEGIN{ split("B KiB MiB GiB TiB",u," "); i=1; while (n>=1024 && i<5) { n/=1024; i++ } printf (i==1?"%d %s":"%.1f %s"), n, u[i] }'; }

# fasta_stats FILE...: "file<TAB>records<TAB>bases" for each FASTA (plain text).
fasta_stats() {
  local f
  for f in "$@"; do
    awk -v f="$(basename "$f")" '/^>/{r++; next} {b+=length($0)} END{printf "%s\t%d\t%d\n", f, r, b}' "$f"
  done
}

# refold60: a FASTA on stdin re-wrapped to 60 columns (streams; handles any input line width).
refold60() {
  awk '/^>/{ if (buf!="") { print buf; buf="" } print; next }
       { gsub(/[ \t\r]/,""); buf = buf $0; while (length(buf) >= 60) { print substr(buf,1,60); buf = substr(buf,61) } }
       END{ if (buf!="") print buf }'
}
