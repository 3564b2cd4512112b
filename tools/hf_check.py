#!/usr/bin/env python3
"""tools/hf_check.py — checks `krait convert` against Hugging Face transformers' MambaForCausalLM, in
both directions, on random small models (for the GPU machine, which has torch, transformers and
safetensors):

    python3 tools/hf_check.py --krait build/train/krait [--work /tmp/hf_check] [--device cuda]

From Hugging Face: for each shape below it builds a random MambaForCausalLM (fp32, seeded), saves it
with save_pretrained (safetensors), runs `krait convert --from-hf`, then `krait dump --tokens` on the
converted checkpoint (fp32, CPU) with the same ids transformers gets, and compares logits (max |diff|
over max |ref|), loss and every parameter's gradient (||krait - hf|| / ||hf||) with transformers'
forward/backward (its slow, pure-PyTorch path; fp32, TF32 off) under the tolerance (1e-5).
To Hugging Face: `krait convert --to-hf` of that checkpoint is loaded with
MambaForCausalLM.from_pretrained and must hold the same tensors bit for bit and give the same logits.
Exits 1 on any failure. Needs torch, transformers, safetensors, h5py and numpy.
"""
import argparse
import os
import subprocess
import sys

import h5py
import numpy as np
import torch
import torch.nn.functional as F
from transformers import MambaConfig, MambaForCausalLM

# (name, MambaConfig arguments): tied and untied heads, biases, a vocabulary padding changes.
SHAPES = [
    ("tiny-tied", dict(hidden_size=16, num_hidden_layers=2, vocab_size=64, state_size=8)),
    ("untied-bias", dict(hidden_size=32, num_hidden_layers=3, vocab_size=50, state_size=4, use_bias=True,
                         tie_word_embeddings=False, time_step_rank=5, layer_norm_epsilon=1e-6)),
    ("no-conv-bias", dict(hidden_size=24, num_hidden_layers=2, vocab_size=40, state_size=16, conv_kernel=3,
                          expand=3, use_conv_bias=False)),
]
TOLERANCE = 1e-5


def krait_name(hf_name):
    """Krait's parameter name for a Hugging Face one (train/hf_convert.h)."""
    if hf_name == "backbone.embeddings.weight":
        return "embedding.weight"
    return hf_name[len("backbone."):] if hf_name.startswith("backbone.") else hf_name


def run(cmd):
    print("+", " ".join(cmd), flush=True)
    subprocess.run(cmd, check=True)


def rel(a, b):
    return (np.linalg.norm(a - b) / max(np.linalg.norm(b), 1e-30)).item()


def check_shape(args, name, kwargs, seed):
    failures = []
    work = os.path.join(args.work, name)
    hf_dir, run_dir, back_dir = (os.path.join(work, d) for d in ("hf", "run", "back"))
    torch.manual_seed(seed)
    model = MambaForCausalLM(MambaConfig(**kwargs)).float().eval()
    model.save_pretrained(hf_dir, safe_serialization=True)
    run([args.krait, "convert", "--from-hf", hf_dir, "--out", run_dir])
    checkpoint = os.path.join(run_dir, "checkpoints", "step-00000000.h5")

    batch, seq_len = 2, 33
    rng = np.random.default_rng(seed)
    tokens = rng.integers(0, kwargs["vocab_size"], size=batch * (seq_len + 1))
    tokens_path = os.path.join(work, "tokens.txt")
    np.savetxt(tokens_path, tokens, fmt="%d")
    dump_path = os.path.join(work, "dump.h5")
    run([args.krait, "dump", "--checkpoint", checkpoint, "--out", dump_path, "--tokens", tokens_path,
         "--batch", str(batch), "--seq-len", str(seq_len)])

    rows = tokens.reshape(batch, seq_len + 1)
    device = torch.device(args.device)
    model = model.to(device)
    model.zero_grad()
    ids = torch.from_numpy(rows[:, :-1]).to(device)
    targets = torch.from_numpy(rows[:, 1:]).to(device)
    logits = model(input_ids=ids, use_cache=False).logits
    loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]).float(), targets.reshape(-1))
    loss.backward()
    with h5py.File(dump_path, "r") as dump:
        k_logits = dump["logits"][()]
        k_loss = float(dump["loss"][()])
        k_grads = {n: dump["grad"][n][()] for n in dump["grad"]}
        k_ids = dump["ids"][()]
    if not np.array_equal(k_ids, rows[:, :-1]):
        failures.append("the dump's ids are not the file's")
    ref = logits.detach().cpu().numpy()
    # Krait pads its vocabulary to a multiple of 8 rows; the padded columns and rows are no class (its
    # loss leaves them out), so only the vocabulary's part is compared.
    vocab = ref.shape[-1]
    k_logits = k_logits[..., :vocab]
    k_grads = {n: g[:vocab] if n in ("embedding.weight", "lm_head.weight") else g for n, g in k_grads.items()}
    checks = [("logits", np.abs(k_logits - ref).max() / np.abs(ref).max()),
              ("loss", abs(k_loss - loss.item()) / abs(loss.item()))]
    seen = set()
    for hf_name, p in model.named_parameters():
        kname = krait_name(hf_name)
        if kname not in k_grads:
            failures.append(f"the dump has no gradient of {kname} ({hf_name})")
            continue
        seen.add(kname)
        g = p.grad.detach().cpu().numpy().reshape(k_grads[kname].shape)
        checks.append((f"grad {kname}", rel(k_grads[kname], g)))
    failures += [f"the dump's gradient of {n} has no transformers parameter" for n in sorted(set(k_grads) - seen)]
    for what, err in checks:
        ok = err <= TOLERANCE
        print(f"  {name:14s} {what:40s} {err:.3e} {'ok' if ok else 'FAIL'}")
        if not ok:
            failures.append(f"{what}: {err:.3e} > {TOLERANCE}")

    # Krait -> Hugging Face: the same tensors, loaded by transformers, and the same logits.
    run([args.krait, "convert", "--to-hf", checkpoint, "--out", back_dir])
    back = MambaForCausalLM.from_pretrained(back_dir).float().eval().to(device)
    src = model.state_dict()
    for n, t in back.state_dict().items():
        if not torch.equal(t, src[n]):
            failures.append(f"--to-hf: {n} differs from the original")
    with torch.no_grad():
        back_logits = back(input_ids=ids, use_cache=False).logits
    if not torch.equal(back_logits, logits.detach()):
        failures.append("--to-hf: logits differ from the original model's")
    return [f"{name}: {f}" for f in failures]


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--krait", default="build/train/krait", help="the krait binary")
    parser.add_argument("--work", default="/tmp/hf_check", help="folder for the models and dumps")
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu",
                        help="where transformers runs (Krait's dump runs on the CPU)")
    args = parser.parse_args()
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    failures = []
    for seed, (name, kwargs) in enumerate(SHAPES):
        failures += check_shape(args, name, kwargs, seed)
    for f in failures:
        print("FAIL", f)
    print("hf_check:", "ok" if not failures else f"{len(failures)} failures")
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
