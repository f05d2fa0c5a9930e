"""Experiment of a10, reproduced with this package's own functions: reversing digit sequences, where a
decoder with additive attention beats the same decoder fed a fixed summary of the input.

The encoder is h_j = tanh(E[x_j] + P[j]) (a digit's embedding plus its position's). The decoder
produces output i from a learned query s_i for that position and a context c_i:
o_i = tanh([c_i; s_i] W_h + b_h), logits_i = o_i W_o + b_o. With attention, c_i is
additive_attention_forward(s_i, h); without, c_i is the mean of the h_j for every i (the fixed-size
summary a decoder without attention has). Both are trained by Adam on the cross-entropy, with every
gradient from the hand-written backward passes (additive_attention_backward for the attention).

``run(plots=None)`` returns one row per quantity: {"quantity", "published", "ours", "ok"}.
"""
from __future__ import annotations

from pathlib import Path

import torch

from grader.experiments import row

from .additive import additive_attention_backward, additive_attention_forward

F64 = torch.float64
VOCAB, LENGTH = 10, 8


def digits(n: int, g: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """n random sequences of LENGTH digits (N, T) and their reversals."""
    x = torch.randint(0, VOCAB, (n, LENGTH), generator=g)
    return x, x.flip(1)


def init(g: torch.Generator, hidden: int = 24, query: int = 12, att: int = 16, mlp: int = 48) -> dict:
    def w(*shape):
        return torch.randn(*shape, generator=g, dtype=F64) / shape[0] ** 0.5

    return {"E": torch.randn(VOCAB, hidden, generator=g, dtype=F64), "P": torch.randn(LENGTH, hidden, generator=g,
                                                                                      dtype=F64),
            "Q": torch.randn(LENGTH, query, generator=g, dtype=F64), "W": w(query, att), "U": w(hidden, att),
            "v": w(att), "Wh": w(hidden + query, mlp), "bh": torch.zeros(mlp, dtype=F64), "Wo": w(mlp, VOCAB),
            "bo": torch.zeros(VOCAB, dtype=F64)}


def forward(p: dict, x: torch.Tensor, attention: bool) -> tuple[torch.Tensor, torch.Tensor | None, tuple]:
    """Logits (N, T, VOCAB), the attention weights (N, T, T) (None without attention) and a cache."""
    n, t = x.shape
    h = torch.tanh(p["E"][x] + p["P"])  # (N, T, H)
    s = p["Q"].repeat(n, 1)  # (N*T, Dq): query i for output i of every sequence
    if attention:
        hh = h[:, None].expand(n, t, t, h.shape[2]).reshape(n * t, t, h.shape[2])  # (N*T, T, H)
        c, alpha, att_cache = additive_attention_forward(s, hh, p["W"], p["U"], p["v"])  # (N*T, H)
        alpha = alpha.reshape(n, t, t)
    else:
        c = h.mean(dim=1).repeat_interleave(t, dim=0)  # (N*T, H): the same summary for every output
        alpha, att_cache = None, None
    cs = torch.cat([c, s], dim=1)  # (N*T, H + Dq)
    o = torch.tanh(cs @ p["Wh"] + p["bh"])  # (N*T, M)
    logits = o @ p["Wo"] + p["bo"]  # (N*T, V)
    return logits.reshape(n, t, -1), alpha, (x, h, cs, o, att_cache)


def loss_and_grads(p: dict, x: torch.Tensor, y: torch.Tensor, attention: bool) -> tuple[float, dict]:
    logits, _, (x, h, cs, o, att_cache) = forward(p, x, attention)
    n, t = x.shape
    z = logits.reshape(n * t, -1)
    z = z - z.amax(dim=1, keepdim=True)
    prob = torch.exp(z) / torch.exp(z).sum(dim=1, keepdim=True)  # (N*T, V)
    target = y.reshape(-1)
    loss = float(-torch.log(prob[torch.arange(n * t), target]).mean())
    dz = prob.clone()
    dz[torch.arange(n * t), target] -= 1
    dz /= n * t
    g = {"Wo": o.T @ dz, "bo": dz.sum(0)}
    dpre = (dz @ p["Wo"].T) * (1 - o * o)  # (N*T, M)
    g["Wh"], g["bh"] = cs.T @ dpre, dpre.sum(0)
    dcs = dpre @ p["Wh"].T
    hidden = h.shape[2]
    dc, ds = dcs[:, :hidden], dcs[:, hidden:]
    if attention:
        ds2, dhh, g["W"], g["U"], g["v"] = additive_attention_backward(dc, att_cache)
        ds = ds + ds2
        dh = dhh.reshape(n, t, t, hidden).sum(dim=1)  # (N, T, H): every query's share
    else:
        g["W"], g["U"], g["v"] = torch.zeros_like(p["W"]), torch.zeros_like(p["U"]), torch.zeros_like(p["v"])
        dh = (dc.reshape(n, t, hidden).sum(dim=1) / t)[:, None, :].expand(n, t, hidden)
    g["Q"] = ds.reshape(n, t, -1).sum(0)
    dpre_h = dh * (1 - h * h)  # (N, T, H)
    g["P"] = dpre_h.sum(0)
    g["E"] = torch.zeros_like(p["E"]).index_add_(0, x.reshape(-1), dpre_h.reshape(n * t, hidden))
    return loss, g


def accuracy(p: dict, x: torch.Tensor, y: torch.Tensor, attention: bool) -> tuple[float, float]:
    """Token and whole-sequence accuracy."""
    logits, _, _ = forward(p, x, attention)
    right = logits.argmax(dim=2) == y
    return float(right.to(F64).mean()), float(right.all(dim=1).to(F64).mean())


def train(attention: bool, steps: int = 600, batch: int = 32, lr: float = 1e-2, seed: int = 0,
          every: int = 50) -> dict:
    """Adam on fresh random batches; returns the parameters and the test token accuracy every ``every`` steps."""
    g = torch.Generator().manual_seed(seed)
    p = init(g)
    x_test, y_test = digits(500, torch.Generator().manual_seed(seed + 1))
    m = {k: torch.zeros_like(v) for k, v in p.items()}
    v2 = {k: torch.zeros_like(v) for k, v in p.items()}
    curve = []
    for step in range(1, steps + 1):
        x, y = digits(batch, g)
        _, grads = loss_and_grads(p, x, y, attention)
        for k in p:
            m[k] = 0.9 * m[k] + 0.1 * grads[k]
            v2[k] = 0.999 * v2[k] + 0.001 * grads[k] * grads[k]
            p[k] = p[k] - lr * (m[k] / (1 - 0.9 ** step)) / ((v2[k] / (1 - 0.999 ** step)).sqrt() + 1e-8)
        if step % every == 0:
            curve.append((step, accuracy(p, x_test, y_test, attention)[0]))
    token, sequence = accuracy(p, x_test, y_test, attention)
    return {"params": p, "curve": curve, "token": token, "sequence": sequence, "x_test": x_test}


def mirrored(p: dict, x: torch.Tensor) -> tuple[float, float]:
    """How output i attends to input T-1-i, the digit it must copy: the fraction of outputs whose largest
    weight is there, and the mean weight there."""
    _, alpha, _ = forward(p, x, True)
    mirror = torch.arange(LENGTH - 1, -1, -1)
    top = float((alpha.argmax(dim=2) == mirror).to(F64).mean())
    return top, float(alpha.flip(2).diagonal(dim1=1, dim2=2).mean())


def run(plots: Path | None = None, steps: int = 600) -> list[dict]:
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # tensors this small: one thread beats two that contend
    try:
        return _run(plots, steps)
    finally:
        torch.set_num_threads(threads)


def _run(plots: Path | None, steps: int) -> list[dict]:
    att, plain = train(True, steps), train(False, steps)
    top, mean = mirrored(att["params"], att["x_test"])
    rows = [
        row(f"reverse {LENGTH} digits: token accuracy, decoder with additive attention", ">= 0.95",
            round(att["token"], 4), att["token"] >= 0.95),
        row(f"reverse {LENGTH} digits: token accuracy, same decoder without attention (mean of encoder states)",
            "below the attention decoder's", round(plain["token"], 4), plain["token"] < att["token"] - 0.2),
        row("reverse: whole-sequence accuracy, with / without attention", "attention beats none",
            f"{att['sequence']:.3f} / {plain['sequence']:.3f}", att["sequence"] > plain["sequence"]),
        row("outputs whose largest attention weight is on the mirrored input (i -> T-1-i)",
            "the learned alignment is the anti-diagonal (>= 0.95)", round(top, 4), top >= 0.95),
        row("mean attention weight on the mirrored input", "reported", round(mean, 4), True),
    ]
    if plots is not None:
        _, alpha, _ = forward(att["params"], att["x_test"], True)
        _plot(Path(plots), alpha[0], att["x_test"][0], alpha.mean(0), att["curve"], plain["curve"])
    return rows


def _plot(folder: Path, example: torch.Tensor, x: torch.Tensor, mean: torch.Tensor, curve_att: list,
          curve_plain: list) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    folder.mkdir(parents=True, exist_ok=True)
    fig, axes = plt.subplots(1, 3, figsize=(15, 4.5))
    digits_in = [str(int(d)) for d in x]
    image = axes[0].imshow(example.numpy(), cmap="viridis", vmin=0, vmax=1)
    axes[0].set(title=f"attention weights reversing {''.join(digits_in)}", xlabel="input position (digit)",
                ylabel="output position (digit)")
    axes[0].set_xticks(range(len(digits_in)), [f"{i}\n({d})" for i, d in enumerate(digits_in)])
    axes[0].set_yticks(range(len(digits_in)), [f"{i} ({d})" for i, d in enumerate(reversed(digits_in))])
    fig.colorbar(image, ax=axes[0], label="attention weight alpha_ij")
    image = axes[1].imshow(mean.numpy(), cmap="viridis", vmin=0, vmax=1)
    axes[1].set(title="mean attention weights over the test set", xlabel="input position", ylabel="output position")
    fig.colorbar(image, ax=axes[1], label="mean attention weight")
    for curve, label in ((curve_att, "with additive attention"), (curve_plain, "without attention (mean of states)")):
        axes[2].plot([s for s, _ in curve], [a for _, a in curve], "o-", label=label)
    axes[2].set(title="reversing digits: test token accuracy", xlabel="training step", ylabel="token accuracy",
                ylim=(0, 1.02))
    axes[2].legend()
    fig.tight_layout()
    fig.savefig(folder / "a10_attention_reversal.png", dpi=100)
    plt.close(fig)
