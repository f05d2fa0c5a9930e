"""Speed of a04's convolution: the reference's naive and fast forward+backward against torch's conv2d, side by side.

    python benchmarks/bench_conv.py [--repeats 5] [--naive-repeats 1] [--threads T]

One run times all three on the same inputs (N=64, C=16, 28x28, 32 filters 3x3, stride 1,
pad 1, float32), in turns, and prints the median time of each and its ratio to torch.
Every contender's result is checked against torch's before it is timed.
"""
from __future__ import annotations

import argparse
import platform

import torch
import torch.nn.functional as F

from _timing import median_times  # benchmarks/_timing.py, beside this script
from reference.a04_cnn import conv

SHAPE = dict(n=64, c=16, h=28, w=28, f=32, k=3, stride=1, pad=1)


def torch_conv(x, w, b, dout, stride, pad):
    x, w, b = (t.detach().requires_grad_() for t in (x, w, b))
    with torch.enable_grad():
        out = F.conv2d(x, w, b, stride=stride, padding=pad)
        out.backward(dout)
    return out.detach(), x.grad, w.grad, b.grad


def reference_conv(forward, backward):
    def run(x, w, b, dout, stride, pad):
        out, cache = forward(x, w, b, stride, pad)
        dx, dw, db = backward(dout, cache)
        return out, dx, dw, db
    return run


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--naive-repeats", type=int, default=1)
    parser.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's own)")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    s = SHAPE
    g = torch.Generator().manual_seed(0)
    x = torch.randn(s["n"], s["c"], s["h"], s["w"], generator=g)
    w = torch.randn(s["f"], s["c"], s["k"], s["k"], generator=g) * 0.1
    b = torch.randn(s["f"], generator=g)
    dout = torch.randn(s["n"], s["f"], s["h"], s["w"], generator=g)
    inputs = (x, w, b, dout, s["stride"], s["pad"])

    contenders = {
        "torch conv2d": torch_conv,
        "reference fast (im2col)": reference_conv(conv.conv_forward, conv.conv_backward),
        "reference naive (loops)": reference_conv(conv.conv_forward_naive, conv.conv_backward_naive),
    }
    repeats = {name: args.naive_repeats if "naive" in name else args.repeats for name in contenders}
    expected = torch_conv(*inputs)
    with torch.no_grad():
        for name, fn in contenders.items():
            got = fn(*inputs)
            for label, a, e in zip(("out", "dx", "dw", "db"), got, expected):
                if not torch.allclose(a, e, rtol=1e-3, atol=1e-3 * float(e.abs().max())):
                    raise SystemExit(f"{name}: {label} differs from torch")
        times = median_times(contenders, inputs, repeats)

    base = times["torch conv2d"]
    print(f"conv2d forward+backward, N={s['n']} C={s['c']} {s['h']}x{s['w']}, {s['f']} filters "
          f"{s['k']}x{s['k']}, stride {s['stride']}, pad {s['pad']}, float32")
    print(f"machine: {platform.machine()}, {torch.get_num_threads()} torch threads, torch {torch.__version__}")
    for name, t in times.items():
        print(f"  {name:26s} {t * 1e3:10.1f} ms   {t / base:7.2f}x torch")


if __name__ == "__main__":
    main()
