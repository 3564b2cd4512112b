"""Recurrent generation with mamba_ssm's own stack, the counterpart of `krait bench generate`.

MambaLMHeadModel in bf16 (random weights: speed does not depend on them), fused add + RMSNorm, residual
in fp32, generate() with CUDA graphs on (cg=True) and greedy decoding (top_k=1), as mamba_ssm's
benchmarks/benchmark_generation_mamba_simple.py runs it. Times the whole call (prefill of the prompt and
every decoding step) and, separately, the prefill alone (a generate of one new token), after a warm-up
that captures the graph; median of REPEATS.

Environment: ANCHOR (the folder prepare.sh wrote, with ext/ built; default .anchor), DM and NL (model
shape; 768/24 is Mamba-130M, 1024/48 Mamba-370M), B (batch), PROMPT (2048), NEW (128), REPEATS (5).
Prints one line per setting.
"""
import os
import statistics
import sys
import time

anchor = os.path.abspath(os.environ.get("ANCHOR", ".anchor"))
sys.path[:0] = [os.path.join(anchor, "ext/selective_scan_cuda"), os.path.join(anchor, "ext/causal_conv1d_cuda"),
                os.path.join(anchor, "mamba"), os.path.join(anchor, "cc1d")]
import torch  # noqa: E402
from mamba_ssm.models.config_mamba import MambaConfig  # noqa: E402
from mamba_ssm.models.mixer_seq_simple import MambaLMHeadModel  # noqa: E402
import mamba_ssm.modules.mamba_simple as simple  # noqa: E402

assert simple.causal_conv1d_update is not None and simple.selective_state_update is not None, \
    "mamba_ssm's fused step kernels (causal_conv1d_update, selective_state_update) are not available"

d_model, n_layer = int(os.environ.get("DM", 768)), int(os.environ.get("NL", 24))
batch, prompt, new = int(os.environ.get("B", 1)), int(os.environ.get("PROMPT", 2048)), int(os.environ.get("NEW", 128))
repeats = int(os.environ.get("REPEATS", 5))
cfg = MambaConfig(d_model=d_model, n_layer=n_layer, vocab_size=50277, ssm_cfg={"layer": "Mamba1"}, rms_norm=True,
                  residual_in_fp32=True, fused_add_norm=True, pad_vocab_size_multiple=8)
torch.manual_seed(0)
model = MambaLMHeadModel(cfg, device="cuda", dtype=torch.bfloat16).eval()
params = sum(p.numel() for p in model.parameters())
ids = torch.randint(1, 50277, (batch, prompt), dtype=torch.long, device="cuda")


def timed(new_tokens):
    torch.cuda.synchronize()
    start = time.perf_counter()
    out = model.generate(input_ids=ids, max_length=prompt + new_tokens, cg=True, return_dict_in_generate=True,
                         output_scores=False, temperature=1.0, top_k=1, top_p=0.0)
    torch.cuda.synchronize()
    assert out.sequences.shape == (batch, prompt + new_tokens)
    return (time.perf_counter() - start) * 1e3


with torch.inference_mode():
    timed(new)  # warm-up: builds the graph cache for this batch and length
    torch.cuda.reset_peak_memory_stats()
    total = statistics.median(timed(new) for _ in range(repeats))
    prefill = statistics.median(timed(1) for _ in range(repeats))
step = (total - prefill) / (new - 1)
print(f"mamba_ssm generate: d_model {d_model} layers {n_layer} {params / 1e6:.1f}M parameters, bf16, batch {batch}, "
      f"prompt {prompt}, {new} new tokens (median of {repeats}): prefill {prefill:.2f} ms, step {step:.3f} ms, "
      f"total {total:.1f} ms; {batch * new / (total / 1e3):.0f} tokens/s end to end, "
      f"{batch / (step / 1e3):.0f} tokens/s decoding; peak {torch.cuda.max_memory_allocated() / 2**30:.2f} GiB",
      flush=True)
