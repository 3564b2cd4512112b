#!/usr/bin/env python3
"""tools/bench/sdpa.py — PyTorch's causal attention at the shapes of `krait bench attention`, for comparison.

Times torch.nn.functional.scaled_dot_product_attention(q, k, v, is_causal=True) in bf16 with q, k, v of
shape (B, H, L, Dh), under each backend torch.nn.attention.sdpa_kernel can pick (flash, efficient,
cudnn): forward, backward and forward + backward, the median of 20 runs after 3 warm-ups, each timed
with CUDA events. TFLOP/s are counted as krait bench attention counts them: forward 4 B H L^2 Dh / 2,
backward 2.5 x forward. Prints one markdown table per backend and the best backend per shape.

    python3 tools/bench/sdpa.py [--shape B,L,H,Dh]
"""
import argparse
import statistics

import torch
import torch.nn.functional as F
from torch.nn.attention import SDPBackend, sdpa_kernel

SHAPES = [(8, 2048, 12, 64), (4, 4096, 16, 128), (2, 8192, 16, 128), (1, 16384, 16, 64)]
BACKENDS = {
    "flash": SDPBackend.FLASH_ATTENTION,
    "efficient": SDPBackend.EFFICIENT_ATTENTION,
    "cudnn": SDPBackend.CUDNN_ATTENTION,
}
ITERATIONS, WARMUP = 20, 3


def median_ms(fn):
    start, stop = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
    for _ in range(WARMUP):
        fn()
    times = []
    for _ in range(ITERATIONS):
        start.record()
        fn()
        stop.record()
        stop.synchronize()
        times.append(start.elapsed_time(stop))
    return statistics.median(times)


def time_shape(shape, backend):
    """(fwd, bwd, fwd+bwd) ms of one backend at one shape."""
    b, l, h, d = shape
    q, k, v = (torch.empty(b, h, l, d, device="cuda", dtype=torch.bfloat16).uniform_(-2, 2).requires_grad_()
               for _ in range(3))
    grad = torch.empty(b, h, l, d, device="cuda", dtype=torch.bfloat16).uniform_(-1, 1)
    with sdpa_kernel(backend):
        forward = lambda: F.scaled_dot_product_attention(q, k, v, is_causal=True)
        out = forward()

        def backward():
            q.grad = k.grad = v.grad = None
            out.backward(grad, retain_graph=True)

        def both():
            q.grad = k.grad = v.grad = None
            forward().backward(grad)

        with torch.no_grad():
            fwd = median_ms(forward)
        return fwd, median_ms(backward), median_ms(both)


def forward_flops(shape):
    b, l, h, d = shape
    return 4.0 * b * h * l * l * d / 2


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shape", help="one shape B,L,H,Dh instead of the built-in ones")
    args = parser.parse_args()
    shapes = [tuple(int(x) for x in args.shape.split(","))] if args.shape else SHAPES
    name = torch.cuda.get_device_name()
    results = {}  # (shape, backend) -> (fwd, bwd, both) or an error string
    for shape in shapes:
        for backend, enum in BACKENDS.items():
            try:
                results[shape, backend] = time_shape(shape, enum)
            except Exception as e:  # the backend does not take this shape or card (RuntimeError, OOM)
                results[shape, backend] = str(e).splitlines()[0][:80]
            torch.cuda.empty_cache()
    print(f"{name}, torch {torch.__version__}, bf16 causal SDPA, median of {ITERATIONS} runs; "
          "TFLOP/s: fwd 4 B H L^2 Dh / 2, bwd 2.5 x fwd\n")
    print("| (B, L, H, Dh) | backend | fwd ms | fwd TFLOP/s | bwd ms | bwd TFLOP/s | fwd+bwd ms | fwd+bwd TFLOP/s |")
    print("|---|---|---|---|---|---|---|---|")
    for shape in shapes:
        f = forward_flops(shape)
        timed = {bk: r for (s, bk), r in results.items() if s == shape and isinstance(r, tuple)}
        for backend in BACKENDS:
            r = results[shape, backend]
            if isinstance(r, str):
                print(f"| {shape} | {backend} | n/a: {r} | | | | | |")
                continue
            fwd, bwd, both = r
            print(f"| {shape} | {backend} | {fwd:.3f} | {f / fwd / 1e9:.1f} | {bwd:.3f} | {2.5 * f / bwd / 1e9:.1f} | "
                  f"{both:.3f} | {3.5 * f / both / 1e9:.1f} |")
        if timed:
            best = min(timed, key=lambda bk: timed[bk][2])
            fwd, bwd, both = timed[best]
            print(f"| {shape} | **best: {best}** | {fwd:.3f} | {f / fwd / 1e9:.1f} | {bwd:.3f} | "
                  f"{2.5 * f / bwd / 1e9:.1f} | {both:.3f} | {3.5 * f / both / 1e9:.1f} |")


if __name__ == "__main__":
    main()
