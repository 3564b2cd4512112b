#!/usr/bin/env bash
# tools/experiments/data-parallel.sh — the multi-GPU checks of docs/perf.md on one host with NGPU
# GPUs (default 2): throughput scaling, 1-GPU vs NGPU equivalence, and a dead rank.
#   1. Throughput: Mamba-130M and Mamba-370M (configs/mamba-130m.yaml, widened for 370M), bf16,
#      8 x 2048 tokens per GPU and micro-step (no accumulation: every step's all-reduce must hide
#      behind one backward), STEPS steps (default 40) on 1 GPU and on NGPU, with and without
#      ZeRO-1. tokens/s is measured from step 10 to the last (the first steps warm the allocator),
#      scaling efficiency = tokens/s on NGPU / (NGPU x tokens/s on 1); peak memory per GPU is
#      nvidia-smi's memory.used (context and NCCL buffers included).
#   2. Equivalence: 50 steps at the same global batch (16 rows) on 1 GPU (2 micro-steps) and on
#      NGPU (plain and ZeRO-1), on text (the quickstart corpus), Mamba-130M's shape with the byte
#      vocabulary, bf16 at seq 2048 and fp32 at seq 512: the weights' largest relative difference
#      and the train losses.
#   3. A dead rank: rank 1 is killed (SIGKILL) mid-run, once under `krait launch` (the launcher
#      stops the others) and once with ranks started by hand (rank 0's NCCL watchdog must end it
#      within train.dist_timeout_s); how long rank 0 lives on and what it says.
# For throughput, random tokens (GPT-NeoX's vocabulary size) stand in for a corpus: it does not depend
# on the text. Needs python3 with numpy and h5py, and runs/data/kjv (tools/quickstart.sh makes it).
# KRAIT names the binary, OUT the folder for logs, SECTIONS the parts to run (default all three:
# "throughput equivalence dead"), SIZES the throughput section's models (default "130m 370m"), and
# DP_SET extra recipe overrides for its multi-GPU runs (e.g. "train.bucket_mb=100"), TAG a suffix for
# their names (to compare settings in one OUT).
set -uo pipefail
cd "$(dirname "$0")/../.."
KRAIT="$(realpath "${KRAIT:-build/train/krait}")"
OUT="${OUT:-runs/data-parallel}"
NGPU="${NGPU:-2}"
STEPS="${STEPS:-40}"
SECTIONS="${SECTIONS:-throughput equivalence dead}"
SIZES="${SIZES:-130m 370m}"
TAG="${TAG:-}"
DP_ARGS=()
for kv in ${DP_SET:-}; do DP_ARGS+=(--set "$kv"); done
WORK="${WORK:-/tmp/krait-dp}"
mkdir -p "$OUT" "$WORK"
summary="$OUT/summary.txt"
touch "$summary"  # appended to: several invocations with different TAGs share one
say() { echo "$*" | tee -a "$summary"; }

python3 - "$WORK" <<'EOF'
import struct, sys, numpy as np
rng = np.random.default_rng(0)
for name, n in (("train", 60_000_000), ("valid", 1_000_000)):
    ids = rng.integers(0, 50277, size=n, dtype=np.uint16)
    with open(f"{sys.argv[1]}/{name}.bin", "wb") as f:
        f.write(b"KRAITTOK" + struct.pack("<IIQII", 1, 2, n, 50277, 0))
        f.write(ids.tobytes())
EOF

# run NAME NPROC BATCH STEPS [--set ...]: a Mamba-130M-shaped run on NPROC GPUs (SEQ tokens a row).
run() {
  local name=$1 nproc=$2 batch=$3 steps=$4
  shift 4
  local cmd=("$KRAIT" train)
  ((nproc > 1)) && cmd=("$KRAIT" launch --nproc "$nproc" -- train)
  rm -rf "$WORK/runs/$name"
  nvidia-smi --query-gpu=index,memory.used --format=csv,noheader,nounits -lms 250 > "$OUT/$name.mem" &
  local smi=$!
  local t0=$SECONDS
  local seq=${SEQ:-2048}
  timeout 240 "${cmd[@]}" -c configs/mamba-130m.yaml --set "data.train=$WORK/train.bin" \
    --set "data.valid=$WORK/valid.bin" --set "data.batch_size=$batch" --set train.micro_batch=8 \
    --set "data.seq_len=$seq" --set "schedule.total_tokens=$((steps * batch * seq))" --set schedule.warmup_steps=4 \
    --set train.eval_interval=0 --set train.checkpoint_interval=0 --set train.log_interval=10 \
    --set eval.max_batches=2 --set "train.run_dir=$WORK/runs/$name" "$@" > "$OUT/$name.log" 2>&1
  local rc=$?
  kill $smi 2> /dev/null
  wait $smi 2> /dev/null
  python3 - "$WORK/runs/$name/metrics.jsonl" "$OUT/$name.mem" "$name" "$rc" "$((SECONDS - t0))" <<'EOF' | tee -a "$summary"
import json, sys
path, mem, name, rc, secs = sys.argv[1:]
try:
    train = [r for r in map(json.loads, open(path)) if r["kind"] == "train"]
    a, b = train[9], train[-1]
    rate = (b["tokens"] - a["tokens"]) / (b["elapsed_s"] - a["elapsed_s"])
    ms = 1000 * (b["elapsed_s"] - a["elapsed_s"]) / (b["step"] - a["step"])
except Exception as e:
    rate, ms = float("nan"), float("nan")
peak = {}
for line in open(mem):
    try:
        i, used = (int(x) for x in line.split(","))
        peak[i] = max(peak.get(i, 0), used)
    except ValueError:
        pass
gib = " ".join(f"gpu{i} {v / 1024:.1f}" for i, v in sorted(peak.items()) if v > 1024)
print(f"{name}: rc {rc}, {secs} s, {rate:,.0f} tok/s, {ms:.1f} ms/step, peak GiB {gib}")
EOF
}

rate_of() { sed -n "s/^$1: .*, \([0-9,]*\) tok\/s.*/\1/p" "$summary" | tr -d ,; }

if [[ " $SECTIONS " == *" throughput "* ]]; then
say "== throughput: 8 x 2048 per GPU and micro-step, bf16, $STEPS steps, 1 vs $NGPU GPUs"
for size in $SIZES; do
  shape=()
  [[ $size == 370m ]] && shape=(--set model.d_model=1024 --set model.n_layer=48)
  [[ -n "$(rate_of "$size-1gpu")" ]] || run "$size-1gpu" 1 8 "$STEPS" "${shape[@]}"
  run "$size-${NGPU}gpu$TAG" "$NGPU" $((8 * NGPU)) "$STEPS" "${shape[@]}" "${DP_ARGS[@]}"
  run "$size-${NGPU}gpu-zero1$TAG" "$NGPU" $((8 * NGPU)) "$STEPS" "${shape[@]}" "${DP_ARGS[@]}" --set train.zero1=true
  one=$(rate_of "$size-1gpu")
  for variant in "${NGPU}gpu$TAG" "${NGPU}gpu-zero1$TAG"; do
    many=$(rate_of "$size-$variant")
    say "$size $variant scaling efficiency: $(python3 -c "print(f'{$many / ($NGPU * $one):.1%}')" 2> /dev/null)"
  done
done
fi

if [[ " $SECTIONS " == *" equivalence "* ]]; then
say "== equivalence after 50 steps at global batch 16 (1 GPU: 2 micro-steps of 8; $NGPU GPUs: one of $((16 / NGPU)) each)"
say "   on text (the quickstart corpus, bytes): Mamba-130M's shape with vocabulary 257, bf16 at seq 2048 and fp32 at seq 512"
compare() {
  python3 - "$@" <<'EOF' | tee -a "$summary"
import json, sys, h5py, numpy as np
a, b = (h5py.File(f"{d}/checkpoints/step-00000050.h5", "r") for d in sys.argv[1:3])
worst_abs, worst_rel, name_of = 0.0, 0.0, ""
def visit(name, obj):
    global worst_abs, worst_rel, name_of
    if isinstance(obj, h5py.Dataset) and name.startswith("model/"):
        x, y = np.asarray(obj, np.float64), np.asarray(b[name], np.float64)
        rel = float(np.linalg.norm(x - y) / max(np.linalg.norm(x), 1e-30))
        worst_abs = max(worst_abs, float(np.max(np.abs(x - y))) if x.size else 0.0)
        if rel > worst_rel: worst_rel, name_of = rel, name
a.visititems(visit)
loss = [{r["step"]: r["loss"] for r in map(json.loads, open(f"{d}/metrics.jsonl")) if r["kind"] == "train"}
        for d in sys.argv[1:3]]
print(f"{sys.argv[3]}: max |w1 - wN| {worst_abs:.3g}; largest ||w1 - wN|| / ||w1|| {worst_rel:.3g} ({name_of}); "
      f"train loss step 1 {loss[0][1]:.6f} vs {loss[1][1]:.6f}, step 50 {loss[0][50]:.6f} vs {loss[1][50]:.6f}")
EOF
}
for precision in bf16 fp32; do
  seq=2048
  [[ $precision == fp32 ]] && seq=512
  text=(--set data.train=runs/data/kjv/train.bin --set data.valid=runs/data/kjv/valid.bin --set model.vocab_size=257
    --set train.precision=$precision --set optim.lr=1e-3)
  SEQ=$seq run eq-$precision-1gpu 1 16 50 "${text[@]}"
  SEQ=$seq run eq-$precision-${NGPU}gpu "$NGPU" 16 50 "${text[@]}" --set train.micro_batch=$((16 / NGPU))
  SEQ=$seq run eq-$precision-${NGPU}gpu-zero1 "$NGPU" 16 50 "${text[@]}" --set train.micro_batch=$((16 / NGPU)) \
    --set train.zero1=true
  for variant in "${NGPU}gpu" "${NGPU}gpu-zero1"; do
    compare "$WORK/runs/eq-$precision-1gpu" "$WORK/runs/eq-$precision-$variant" "$precision: 1 GPU vs $variant"
  done
done
fi

if [[ " $SECTIONS " == *" dead "* ]]; then
say "== a dead rank (SIGKILL to rank 1 after step 10; train.dist_timeout_s 30)"
dead_common=(-c configs/mamba-130m.yaml --set "data.train=$WORK/train.bin" --set "data.valid=$WORK/valid.bin"
  --set data.batch_size=16 --set train.micro_batch=8 --set schedule.total_tokens=$((400 * 16 * 2048))
  --set schedule.warmup_steps=10 --set train.log_interval=1 --set train.dist_timeout_s=30
  --set train.eval_interval=0)
wait_for_step() { for _ in $(seq 1 120); do grep -q "step  *$2/" "$1" && return 0; sleep 0.5; done; return 1; }

rm -rf "$WORK/runs/dead-launch"
"$KRAIT" launch --nproc 2 -- train "${dead_common[@]}" --set "train.run_dir=$WORK/runs/dead-launch" \
  > "$OUT/dead-launch.log" 2>&1 &
launcher=$!
wait_for_step "$OUT/dead-launch.log" 10
rank1=$(pgrep -P $launcher | sed -n 2p)
t0=$(date +%s.%N)
kill -9 "$rank1"
wait $launcher
rc=$?
say "under krait launch: rc $rc after $(python3 -c "print(f'{$(date +%s.%N) - $t0:.1f}')") s: $(tail -3 "$OUT/dead-launch.log" | tr '\n' ' ')"

rm -rf "$WORK/runs/dead-manual"
port=$((29500 + RANDOM % 1000))
pids=()
for rank in 0 1; do
  RANK=$rank LOCAL_RANK=$rank WORLD_SIZE=2 MASTER_ADDR=127.0.0.1 MASTER_PORT=$port \
    "$KRAIT" train "${dead_common[@]}" --set "train.run_dir=$WORK/runs/dead-manual" \
    > "$OUT/dead-manual-$rank.log" 2>&1 &
  pids+=($!)
done
wait_for_step "$OUT/dead-manual-0.log" 10
t0=$(date +%s.%N)
kill -9 "${pids[1]}"
wait "${pids[0]}"
rc=$?
say "ranks by hand: rank 0 rc $rc after $(python3 -c "print(f'{$(date +%s.%N) - $t0:.1f}')") s: $(tail -2 "$OUT/dead-manual-0.log" | tr '\n' ' ')"
fi
