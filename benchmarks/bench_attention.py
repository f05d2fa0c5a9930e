"""Speed of a11's multi-head attention: the reference's forward+backward against nn.MultiheadAttention's, side by side.

    python benchmarks/bench_attention.py [--repeats 7] [--threads T]

One run times, on the same inputs (self-attention, N=32, T=128, E=256, 8 heads, float32, CPU), in
turns: nn.MultiheadAttention's forward and autograd backward as called by default (need_weights=True,
the head-averaged weights returned), the same with need_weights=False (torch's fused
scaled_dot_product_attention kernel), and the reference's multi_head_attention_forward and _backward.
It prints the median time of each and its ratio to the default call. Each contender's output and
gradients are checked against torch's before it is timed.
"""
from __future__ import annotations

import argparse
import os
import platform

import torch
import torch.nn as nn

from _timing import median_times  # benchmarks/_timing.py, beside this script
from reference.a11_transformer import attention

SHAPE = dict(n=32, t=128, e=256, heads=8)


def torch_mha(mha: nn.MultiheadAttention, need_weights: bool):
    params = [mha.in_proj_weight, mha.in_proj_bias, mha.out_proj.weight, mha.out_proj.bias]

    def run(x, dout):
        for p in params:
            p.grad = None
        x = x.detach().requires_grad_()
        with torch.enable_grad():
            out, _ = mha(x, x, x, need_weights=need_weights)
            out.backward(dout)
        return (out.detach(), x.grad) + tuple(p.grad for p in params)
    return run


def reference_mha(mha: nn.MultiheadAttention):
    weights = [p.detach() for p in (mha.in_proj_weight, mha.in_proj_bias, mha.out_proj.weight, mha.out_proj.bias)]

    def run(x, dout):
        out, cache = attention.multi_head_attention_forward(x, x, x, *weights, SHAPE["heads"])
        dq, dk, dv, *grads = attention.multi_head_attention_backward(dout, cache)
        return (out, dq + dk + dv) + tuple(grads)
    return run


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's own)")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    s = SHAPE
    torch.manual_seed(0)
    mha = nn.MultiheadAttention(s["e"], s["heads"], batch_first=True)
    x = torch.randn(s["n"], s["t"], s["e"])
    dout = torch.randn(s["n"], s["t"], s["e"])
    contenders = {
        "nn.MultiheadAttention (default call)": torch_mha(mha, True),
        "nn.MultiheadAttention, need_weights=False": torch_mha(mha, False),
        "reference": reference_mha(mha),
    }
    expected = contenders["nn.MultiheadAttention (default call)"](x, dout)
    for name, fn in contenders.items():
        for label, got, want in zip(("out", "dx", "din_proj_weight", "din_proj_bias", "dout_proj_weight",
                                     "dout_proj_bias"), fn(x, dout), expected):
            if not torch.allclose(got, want, rtol=1e-3, atol=1e-4 * float(want.abs().max())):
                raise SystemExit(f"{name}: {label} differs from torch")
    times = median_times(contenders, (x, dout), args.repeats)
    base = times["nn.MultiheadAttention (default call)"]
    print(f"multi-head self-attention forward+backward, N={s['n']} T={s['t']} E={s['e']}, {s['heads']} heads, float32")
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, load {os.getloadavg()[0]:.1f}, "
          f"{torch.get_num_threads()} torch threads, torch {torch.__version__}")
    for name, t in times.items():
        print(f"  {name:42s} {t * 1e3:9.1f} ms   {t / base:6.2f}x the default call")


if __name__ == "__main__":
    main()
