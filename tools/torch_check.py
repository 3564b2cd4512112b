#!/usr/bin/env python3
"""tools/torch_check.py — checks Krait's whole forward and backward against an independent PyTorch
implementation of the same Mamba language model.

    krait dump --checkpoint CKPT.h5 --out DUMP.h5 --set train.device=cuda [--set train.precision=bf16]
    python3 tools/torch_check.py CKPT.h5 DUMP.h5

The model is rebuilt here from the equations (docs/selective_scan.md, layers/mamba_*.cpp), not from
mamba_ssm or Krait code, with the checkpoint's weights (/model/<param>) and the dump's config/*
entries. It runs the dump's batch (ids, targets) in float64 with torch autograd and compares:
logits (max |difference| over max |reference|), the loss (relative difference) and each parameter's
gradient (relative L2 error, ||krait - ref|| / ||ref||). Prints a table; exits 1 if any error
exceeds the tolerance, which follows the dump's compute_dtype (f32: 1e-4, bf16: 6e-2) unless --tol
is given. Needs torch, h5py and numpy.
"""
import argparse
import sys

import h5py
import numpy as np
import torch
import torch.nn.functional as F

# bf16: every activation and matmul input is rounded to 8 bits of mantissa. On the 8-layer quickstart
# model a few steps into training, most gradients come out within 1-2%, but x_proj.weight's (a sum
# over all tokens with much cancellation) reaches 3-4.5% on an H100, the same for builds with
# different kernels; a wrong gradient is off by O(1).
TOLERANCE = {"f32": 1e-4, "bf16": 6e-2, "f64": 1e-10}


def read_array(dataset):
    """A Krait checkpoint dataset as a numpy array (bf16 is stored as uint16 with dtype = "bf16")."""
    values = dataset[()]
    kind = dataset.attrs.get("dtype")
    if isinstance(kind, bytes):
        kind = kind.decode()
    if kind == "bf16":
        values = (np.asarray(values, dtype=np.uint32) << 16).view(np.float32)
    return np.asarray(values)


def read_string(dataset):
    value = dataset[()]
    return value.decode() if isinstance(value, bytes) else str(value)


def rms_norm(x, weight, eps):
    return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + eps) * weight


def selective_scan(u, delta, A, B, C, D, z):
    """Reference loop over time. u, delta, z: (batch, E, L); A: (E, N); B, C: (batch, N, L) when
    input-dependent or (E, N) when time-invariant; D: (E). Returns (batch, E, L)."""
    batch, E, L = u.shape
    N = A.shape[1]
    decay = torch.exp(delta.unsqueeze(-1) * A[None, :, None, :])  # (batch, E, L, N)
    B_t = B.transpose(1, 2)[:, None] if B.dim() == 3 else B[None, :, None, :]  # (batch|1, 1|E, L|1, N)
    C_t = C.transpose(1, 2)[:, None] if C.dim() == 3 else C[None, :, None, :]
    drive = delta.unsqueeze(-1) * B_t * u.unsqueeze(-1)  # (batch, E, L, N)
    state = u.new_zeros(batch, E, N)
    ys = []
    for t in range(L):
        state = decay[:, :, t] * state + drive[:, :, t]
        c = C_t[:, :, t] if C_t.shape[2] == L else C_t[:, :, 0]
        ys.append((state * c).sum(-1))
    y = torch.stack(ys, dim=-1) + D[None, :, None] * u
    return y * F.silu(z)


def linear(x, params, name):
    y = x @ params[name + ".weight"].T
    bias = params.get(name + ".bias")
    return y if bias is None else y + bias


def mixer(h, params, prefix, cfg):
    E, N, R, K = cfg["d_inner"], cfg["d_state"], cfg["dt_rank"], cfg["d_conv"]
    batch, L, _ = h.shape
    x, z = linear(h, params, prefix + ".in_proj").split([E, E], dim=-1)
    x = x.transpose(1, 2)  # (batch, E, L)
    conv_w = params[prefix + ".conv1d.weight"]  # (E, K)
    conv_b = params.get(prefix + ".conv1d.bias")
    x = F.conv1d(x, conv_w.unsqueeze(1), conv_b, padding=K - 1, groups=E)[..., :L]
    x = F.silu(x)
    if cfg["selective"]:
        dt, B, C = (x.transpose(1, 2) @ params[prefix + ".x_proj.weight"].T).split([R, N, N], dim=-1)
        dt = (dt @ params[prefix + ".dt_proj.weight"].T).transpose(1, 2)  # (batch, E, L)
        delta = F.softplus(dt + params[prefix + ".dt_proj.bias"][None, :, None])
        B, C = B.transpose(1, 2), C.transpose(1, 2)  # (batch, N, L)
    else:
        delta = F.softplus(params[prefix + ".dt_bias"])[None, :, None].expand(batch, E, L)
        B, C = params[prefix + ".B"], params[prefix + ".C"]  # (E, N)
    A = -torch.exp(params[prefix + ".A_log"])
    y = selective_scan(x, delta, A, B, C, params[prefix + ".D"], z.transpose(1, 2))
    return linear(y.transpose(1, 2), params, prefix + ".out_proj")


def mamba_lm(ids, params, cfg):
    eps = cfg["norm_eps"]
    residual = params["embedding.weight"][ids]
    for i in range(cfg["n_layer"]):
        prefix = f"layers.{i}"
        residual = residual + mixer(rms_norm(residual, params[prefix + ".norm.weight"], eps), params,
                                    prefix + ".mixer", cfg)
    head = params["embedding.weight"] if cfg["tie_embeddings"] else params["lm_head.weight"]
    return rms_norm(residual, params["norm_f.weight"], eps) @ head.T


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("checkpoint", help="the Krait checkpoint the dump was made from")
    parser.add_argument("dump", help="the output of krait dump")
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--tol", type=float, help="tolerance (default: by the dump's compute_dtype)")
    args = parser.parse_args()
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    device, dtype = torch.device(args.device), torch.float64

    with h5py.File(args.dump, "r") as dump, h5py.File(args.checkpoint, "r") as ckpt:
        cfg = {name: dump["config"][name][()].item() for name in dump["config"]}
        compute_dtype = read_string(dump["compute_dtype"])
        krait_device = read_string(dump["device"])
        ids = torch.from_numpy(read_array(dump["ids"])).to(device)
        targets = torch.from_numpy(read_array(dump["targets"])).to(device)
        krait_logits = torch.from_numpy(read_array(dump["logits"])).to(device, dtype)
        krait_loss = float(dump["loss"][()])
        krait_grads = {name: torch.from_numpy(read_array(dump["grad"][name])).to(device, dtype)
                       for name in dump["grad"]}
        params = {name: torch.from_numpy(read_array(ckpt["model"][name])).to(device, dtype).requires_grad_()
                  for name in krait_grads}
        missing = sorted(set(ckpt["model"]) - set(krait_grads))
    if missing:
        sys.exit(f"torch_check: the dump has no gradients of {', '.join(missing)}")

    logits = mamba_lm(ids, params, cfg)
    # Krait's loss leaves the padded vocabulary's columns out of the softmax.
    vocab = cfg["vocab_size"]
    loss = F.cross_entropy(logits[..., :vocab].reshape(-1, vocab), targets.reshape(-1))
    loss.backward()
    unused = sorted(name for name, p in params.items() if p.grad is None)
    if unused:
        sys.exit(f"torch_check: the PyTorch model does not use {', '.join(unused)}")

    tol = args.tol if args.tol is not None else TOLERANCE[compute_dtype]
    rows = []  # (what, shape, reference scale, error)
    with torch.no_grad():
        rows.append(("logits (max abs err / max abs)", tuple(logits.shape), logits.abs().max().item(),
                     ((krait_logits - logits).abs().max() / logits.abs().max()).item()))
        rows.append(("loss (rel err)", (), loss.item(), abs(krait_loss - loss.item()) / abs(loss.item())))
        for name, p in params.items():
            ref = p.grad
            err = (krait_grads[name] - ref).norm() / ref.norm().clamp_min(1e-300)
            rows.append((f"grad {name}", tuple(ref.shape), ref.norm().item(), err.item()))

    print(f"krait {compute_dtype} on {krait_device} vs PyTorch {torch.__version__} float64 on {device}; "
          f"batch {tuple(ids.shape)}, {cfg['n_layer']} layers, d_model {cfg['d_model']}, "
          f"selective {bool(cfg['selective'])}; tolerance {tol:g}")
    print(f"krait loss {krait_loss:.8f}, reference loss {loss.item():.8f}")
    width = max(len(r[0]) for r in rows)
    print(f"{'quantity':<{width}}  {'shape':<16} {'ref scale':>10} {'error':>10}")
    failures = 0
    for what, shape, scale, err in rows:
        bad = not err <= tol  # NaN fails
        failures += bad
        print(f"{what:<{width}}  {str(shape):<16} {scale:10.3e} {err:10.3e}{'  FAIL' if bad else ''}")
    worst = max(rows, key=lambda r: r[3] if r[3] == r[3] else float("inf"))
    print(f"{'FAIL' if failures else 'OK'}: {failures} of {len(rows)} over tolerance {tol:g}; "
          f"worst {worst[0]} {worst[3]:.3e}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
