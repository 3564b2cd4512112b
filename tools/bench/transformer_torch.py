"""tools/bench/transformer_torch.py — training throughput of the Transformer++ baseline (the Mamba paper's:
pre-RMSNorm, rotary embeddings in GPT-NeoX's half-split layout, SwiGLU MLP, no biases, tied embeddings) in
plain PyTorch: F.scaled_dot_product_attention(is_causal=True) (FlashAttention on H100/H200), bf16 autocast
with fp32 weights and residual stream, fused AdamW, gradient clipping 1.0, vocabulary 50280. The same
interface as ../shared/anchor-bench/train_mamba.py, for same-run ratios with `krait bench train` on a
transformer recipe (configs/transformer-125m.yaml).

Shape by environment: DM (d_model, 768), NL (layers, 12), NH (heads, 12), DFF (SwiGLU width; default
floor(8 DM / 3) rounded up to 128, as Krait's d_ff auto), MB (micro-batch, 8), L (sequence length, 2048),
STEPS (timed steps, 10). Prints the median ms/step of STEPS after 3 warm-up steps, tokens/s at that median,
and the peak GiB of the timed steps.
"""
import math
import os
import statistics

import torch
import torch.nn.functional as F
from torch import nn

d_model, n_layer, n_head = int(os.environ.get("DM", 768)), int(os.environ.get("NL", 12)), int(os.environ.get("NH", 12))
d_ff = int(os.environ.get("DFF", (8 * d_model // 3 + 127) // 128 * 128))
mb, L, steps = int(os.environ.get("MB", 8)), int(os.environ.get("L", 2048)), int(os.environ.get("STEPS", 10))
vocab, theta, eps = 50280, 10000.0, 1e-5
head_dim = d_model // n_head
assert head_dim * n_head == d_model and head_dim % 2 == 0, "NH must split DM into heads of an even width"


class Block(nn.Module):
    def __init__(self):
        super().__init__()
        self.norm, self.norm2 = nn.RMSNorm(d_model, eps=eps), nn.RMSNorm(d_model, eps=eps)
        self.in_proj = nn.Linear(d_model, 3 * d_model, bias=False)  # query heads, key heads, value heads
        self.out_proj = nn.Linear(d_model, d_model, bias=False)
        self.fc1 = nn.Linear(d_model, 2 * d_ff, bias=False)  # gate, then value
        self.fc2 = nn.Linear(d_ff, d_model, bias=False)

    def forward(self, h, cos, sin):
        B = h.shape[0]
        q, k, v = self.in_proj(self.norm(h)).view(B, L, 3, n_head, head_dim).permute(2, 0, 3, 1, 4)
        q, k = rotate(q, cos, sin), rotate(k, cos, sin)
        y = F.scaled_dot_product_attention(q, k, v, is_causal=True).transpose(1, 2).reshape(B, L, d_model)
        h = h + self.out_proj(y)  # the residual stays fp32: fp32 + bf16 -> fp32
        gate, value = self.fc1(self.norm2(h)).chunk(2, dim=-1)
        return h + self.fc2(F.silu(gate) * value)


def rotate(x, cos, sin):  # x (B, H, L, Dh): pairs (x[i], x[i + Dh/2]) turned by t * theta^(-2i/Dh)
    x1, x2 = x.chunk(2, dim=-1)
    cos, sin = cos.to(x.dtype), sin.to(x.dtype)
    return torch.cat((x1 * cos - x2 * sin, x1 * sin + x2 * cos), dim=-1)


class TransformerPP(nn.Module):
    def __init__(self):
        super().__init__()
        self.embedding = nn.Embedding(vocab, d_model)
        self.layers = nn.ModuleList(Block() for _ in range(n_layer))
        self.norm_f = nn.RMSNorm(d_model, eps=eps)
        inv_freq = theta ** (-torch.arange(0, head_dim, 2, dtype=torch.float32) / head_dim)
        angle = torch.outer(torch.arange(L, dtype=torch.float32), inv_freq)  # fp32 angles, as Krait's kernel
        self.register_buffer("cos", angle.cos(), persistent=False)
        self.register_buffer("sin", angle.sin(), persistent=False)
        for name, p in self.named_parameters():  # GPT-2: N(0, 0.02), output projections / sqrt(2 n_layer)
            if p.dim() == 2:
                std = 0.02 / math.sqrt(2 * n_layer) if name.endswith(("out_proj.weight", "fc2.weight")) else 0.02
                nn.init.normal_(p, 0.0, std)

    def forward(self, ids):
        h = self.embedding(ids)
        for layer in self.layers:
            h = layer(h, self.cos, self.sin)
        return F.linear(self.norm_f(h), self.embedding.weight)  # tied head


torch.manual_seed(0)
model = TransformerPP().cuda()
n = sum(p.numel() for p in model.parameters())
opt = torch.optim.AdamW(model.parameters(), lr=1e-4, weight_decay=0.1, fused=True)
x = torch.randint(0, vocab, (mb, L + 1), device="cuda")


def step():
    with torch.autocast("cuda", dtype=torch.bfloat16):
        logits = model(x[:, :-1])
        loss = F.cross_entropy(logits.float().view(-1, logits.size(-1)), x[:, 1:].reshape(-1))
    loss.backward()
    torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
    opt.step()
    opt.zero_grad(set_to_none=True)
    return loss


for _ in range(3):
    step()
torch.cuda.synchronize()
torch.cuda.reset_peak_memory_stats()
events = [torch.cuda.Event(enable_timing=True) for _ in range(steps + 1)]
events[0].record()
for i in range(steps):  # events between steps: no host synchronization inside the timed loop
    last = step()
    events[i + 1].record()
torch.cuda.synchronize()
ms = statistics.median(events[i].elapsed_time(events[i + 1]) for i in range(steps))
print(f"Transformer++ PyTorch (SDPA, fused AdamW): d_model {d_model} layers {n_layer} heads {n_head} d_ff {d_ff} "
      f"params {n/1e6:.1f}M mb {mb} x {L}: {ms:.1f} ms/step, {mb*L/(ms/1e3):,.0f} tok/s, "
      f"peak {torch.cuda.max_memory_allocated()/2**30:.1f} GiB, loss {last.item():.3f}", flush=True)
