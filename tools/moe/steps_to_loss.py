#!/usr/bin/env python3
"""Steps to reach a baseline's final loss: the MoE-Mamba paper's measure (Pioro et al. 2024, Fig. 1).

Reads two Krait metrics files (RUN_DIR/metrics.jsonl), the baseline's and the candidate's, takes the
baseline's final evaluation loss, and finds the step at which the candidate's evaluation loss first
reaches it (linear between evaluations). Prints both curves' evaluations, that step, and the ratio
baseline steps / candidate steps (> 1: the candidate needs fewer steps). With --ema it also reports
the same on the training loss smoothed by an exponential moving average, which has a point every
logged step.

  python3 tools/moe/steps_to_loss.py runs/moe/english-mamba/metrics.jsonl runs/moe/english-moe-mamba/metrics.jsonl
"""
import argparse
import json


def read(path, kind):
    points = []
    with open(path) as f:
        for line in f:
            record = json.loads(line)
            if record.get("kind") == kind:
                points.append((record["step"], record["loss"]))
    if not points:
        raise SystemExit(f"{path}: no '{kind}' records")
    return points


def first_step_at(points, target):
    """The step where the piecewise-linear curve through points first falls to target, or None."""
    previous = None
    for step, loss in points:
        if loss <= target:
            if previous is None:
                return float(step)
            (s0, l0) = previous
            return s0 + (step - s0) * (l0 - target) / (l0 - loss)
        previous = (step, loss)
    return None


def ema(points, alpha):
    out, value = [], None
    for step, loss in points:
        value = loss if value is None else alpha * loss + (1 - alpha) * value
        out.append((step, value))
    return out


def report(name, base, cand):
    target = base[-1][1]
    step = first_step_at(cand, target)
    base_steps = base[-1][0]
    if step is None:
        print(f"{name}: the candidate never reaches the baseline's final loss {target:.4f} "
              f"(its final: {cand[-1][1]:.4f})")
        return
    print(f"{name}: baseline final loss {target:.4f} at step {base_steps}; the candidate reaches it at "
          f"step {step:.1f}: {base_steps / step:.2f}x fewer steps")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("baseline")
    parser.add_argument("candidate")
    parser.add_argument("--ema", type=float, default=0.0, help="also on the train loss, EMA weight (e.g. 0.1)")
    args = parser.parse_args()
    base, cand = read(args.baseline, "eval"), read(args.candidate, "eval")
    print("step  baseline  candidate")
    cand_at = dict(cand)
    for step, loss in base:
        other = cand_at.get(step)
        print(f"{step:5d}  {loss:8.4f}  {'' if other is None else f'{other:9.4f}'}")
    report("eval loss", base, cand)
    if args.ema > 0:
        report(f"train loss (EMA {args.ema})", ema(read(args.baseline, "train"), args.ema),
               ema(read(args.candidate, "train"), args.ema))


if __name__ == "__main__":
    main()
