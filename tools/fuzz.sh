#!/usr/bin/env bash
# Builds the libFuzzer targets (fuzz/, one per reader of outside bytes) with clang 16, ASan and UBSan
# into build-fuzz/ and runs each (but hdf5_bytes, unless named) for SECONDS (default 30) from its
# seed corpus fuzz/corpus/NAME (and dictionary fuzz/NAME.dict, if any), up to nproc targets at a
# time. Prints each target's executions and findings; exits 1 when any target found something (a
# crash, a sanitizer report, a leak, an input slower than 10 s).
#   tools/fuzz.sh [SECONDS] [NAME...]      e.g. tools/fuzz.sh 300 wav fasta
# New inputs go to build-fuzz/fuzz-corpus/NAME (kept between runs), findings to
# build-fuzz/fuzz-findings/NAME/, each target's log to build-fuzz/fuzz-logs/NAME.log.
# KRAIT_FUZZ_SEED=N fixes libFuzzer's seed (CI sets it, so that a run of a commit mutates the same way
# each time instead of turning red at random); unset, each run draws a new one.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-30}
shift $(($# > 0 ? 1 : 0))
build=${KRAIT_FUZZ_BUILD_DIR:-build-fuzz}

tools/install-deps.sh fuzz
cmake -S . -B "$build" -G Ninja -DCMAKE_C_COMPILER=clang-16 -DCMAKE_CXX_COMPILER=clang++-16 -DKRAIT_CUDA=OFF \
  -DKRAIT_FUZZ=ON -DBUILD_TESTING=OFF -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$build" --parallel "$(nproc)" --target krait_fuzzers

# hdf5_bytes runs only when named: it finds HDF5 1.10.8's own crashes within seconds (fuzz/README.md).
names=("$@")
if [ ${#names[@]} -eq 0 ]; then
  for binary in "$build"/fuzz/fuzz_*; do
    [ "${binary##*/fuzz_}" = hdf5_bytes ] || names+=("${binary##*/fuzz_}")
  done
fi
mkdir -p "$build/fuzz-logs"
export UBSAN_OPTIONS=print_stacktrace=1
export ASAN_SYMBOLIZER_PATH=/usr/lib/llvm-16/bin/llvm-symbolizer

# Runs one target; its exit status goes to fuzz-logs/NAME.status.
run_one() {
  local name=$1 status=0 dict=() seed=()
  [ -n "${KRAIT_FUZZ_SEED:-}" ] && seed=(-seed="$KRAIT_FUZZ_SEED")
  mkdir -p "$build/fuzz-corpus/$name" "$build/fuzz-findings/$name"
  [ -f "fuzz/$name.dict" ] && dict=(-dict="fuzz/$name.dict")
  # No limit on one malloc but the sanitizer's (1 TB): HDF5 mallocs what a corrupt size field says
  # and rejects it untouched (fuzz/hdf5_target.h); memory really used still meets the 2 GB RSS limit.
  "$build/fuzz/fuzz_$name" -max_total_time="$seconds" -timeout=10 -malloc_limit_mb=1048576 -print_final_stats=1 \
    "${dict[@]}" "${seed[@]}" -artifact_prefix="$build/fuzz-findings/$name/" "$build/fuzz-corpus/$name" "fuzz/corpus/$name" \
    >"$build/fuzz-logs/$name.log" 2>&1 || status=$?
  echo "$status" >"$build/fuzz-logs/$name.status"
}

echo "fuzzing ${#names[@]} targets for ${seconds} s each, $(nproc) at a time"
for name in "${names[@]}"; do
  [ -x "$build/fuzz/fuzz_$name" ] || { echo "no fuzz target '$name' (fuzz/$name.cpp)"; exit 2; }
done
for name in "${names[@]}"; do
  while [ "$(jobs -rp | wc -l)" -ge "$(nproc)" ]; do wait -n || true; done
  run_one "$name" &
done
wait

failed=0
for name in "${names[@]}"; do
  log="$build/fuzz-logs/$name.log"
  status=$(cat "$build/fuzz-logs/$name.status")
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  took=$(sed -n 's/^Done [0-9]* runs in \([0-9]*\) second.*/\1/p' "$log" | tail -1)
  if [ "$status" -eq 0 ]; then
    printf '%-16s %10s executions in %3s s, no findings\n' "$name" "${runs:-?}" "${took:-?}"
  else
    failed=1
    summary=$(grep -m1 -E '^(==[0-9]+==ERROR|SUMMARY|.*runtime error)' "$log" || tail -1 "$log")
    printf '%-16s FINDING (exit %s): %s\n' "$name" "$status" "$summary"
    echo "                 input: $(ls -t "$build/fuzz-findings/$name"/* 2>/dev/null | head -1), log: $log"
  fi
done
exit $failed
