"""Speed of a09's LSTM: the reference sequence forward+backward against torch's nn.LSTM forward+backward, side by side.

    python benchmarks/bench_recurrent.py [--repeats 7] [--threads T]

One run times both on the same inputs (N=32, T=50, I=H=128, float32), in turns, and prints the
median time of each and its ratio to torch. The reference's results are checked against torch's
(output, every gradient) before anything is timed.
"""
from __future__ import annotations

import argparse
import os
import platform

import torch

from _timing import median_times  # benchmarks/_timing.py, beside this script
from reference.a09_recurrent import lstm

SHAPE = dict(n=32, t=50, i=128, h=128)
NAMES = ("weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0")


def torch_lstm(module: torch.nn.LSTM):
    def run(x, h0, c0, dout):
        x, h0, c0 = (v.detach().requires_grad_() for v in (x, h0, c0))
        module.zero_grad(set_to_none=True)
        with torch.enable_grad():
            out, _ = module(x, (h0[None], c0[None]))
            out.backward(dout)
        return (out.detach(), x.grad, h0.grad, c0.grad, *(getattr(module, n).grad for n in NAMES))
    return run


def reference_lstm(params: list[torch.Tensor]):
    def run(x, h0, c0, dout):
        out, cache = lstm.lstm_forward(x, h0, c0, *params)
        return (out, *lstm.lstm_backward(dout, cache))
    return run


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's own)")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    s = SHAPE
    g = torch.Generator().manual_seed(0)
    module = torch.nn.LSTM(s["i"], s["h"])
    params = [getattr(module, n).detach().clone() for n in NAMES]
    x = torch.randn(s["t"], s["n"], s["i"], generator=g)
    h0, c0 = torch.randn(s["n"], s["h"], generator=g), torch.randn(s["n"], s["h"], generator=g)
    dout = torch.randn(s["t"], s["n"], s["h"], generator=g)
    inputs = (x, h0, c0, dout)
    contenders = {"torch nn.LSTM": torch_lstm(module), "reference lstm_forward/backward": reference_lstm(params)}

    expected = contenders["torch nn.LSTM"](*inputs)
    with torch.no_grad():
        got = contenders["reference lstm_forward/backward"](*inputs)
        labels = ("out", "dx", "dh0", "dc0", "dw_ih", "dw_hh", "db_ih", "db_hh")
        for label, a, e in zip(labels, got, expected, strict=True):
            if not torch.allclose(a, e, rtol=1e-3, atol=1e-4 * float(e.abs().max())):
                raise SystemExit(f"reference: {label} differs from torch")
        times = median_times(contenders, inputs, args.repeats)

    base = times["torch nn.LSTM"]
    print(f"LSTM forward+backward, N={s['n']} T={s['t']} I={s['i']} H={s['h']}, float32")
    print(f"machine: {platform.machine()}, {torch.get_num_threads()} torch threads, torch {torch.__version__}, "
          f"load average {' '.join(f'{v:.2f}' for v in os.getloadavg())}")
    for name, t in times.items():
        print(f"  {name:32s} {t * 1e3:10.1f} ms   {t / base:7.2f}x torch")


if __name__ == "__main__":
    main()
