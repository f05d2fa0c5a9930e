"""Experiments of a01, reproduced with this package's own units and rules: logic gates, Novikoff's
bound, XOR, LMS against least squares, Hebb/Oja/Sanger against PCA, iris, the generic network.

``run(plots=None)`` returns one row per quantity: {"quantity", "published", "ours", "ok"}.
Run it on the reference (``grader reproduce a01``) or, once your functions work, on yours.
"""
from __future__ import annotations

from pathlib import Path

import torch

from grader.experiments import row

from .generic import hopfield_network, perceptron_network
from .hopfield import hopfield_update, hopfield_weights
from .rules import hebb_step, lms_step, oja_step, perceptron_epoch, sanger_step, sigmoid_delta_step, \
    train_perceptron
from .units import GATES, decision_boundary, gate_weights, ltu_forward, truth_table

F64 = torch.float64
PUBLISHED_GATES = {"AND": [0, 0, 0, 1], "OR": [0, 1, 1, 1], "NOT": [1, 0], "NAND": [1, 1, 1, 0]}


def gates() -> list[dict]:
    rows = []
    for name in GATES:
        _, y = truth_table(*gate_weights(name))
        ours = [int(v) for v in y.tolist()]
        rows.append(row(f"LTU {name} truth table", PUBLISHED_GATES[name], ours, ours == PUBLISHED_GATES[name]))
    return rows


def separable_data(n: int = 200, margin: float = 0.1, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """Points in [-1, 1]^2 labelled by the line x1 + 2 x2 = 0.3, none closer than ``margin`` to it."""
    g = torch.Generator().manual_seed(seed)
    w_true, theta_true = torch.tensor([1.0, 2.0], dtype=F64), 0.3
    x = torch.rand(4 * n, 2, generator=g, dtype=F64) * 2 - 1
    dist = (x @ w_true - theta_true) / w_true.norm()
    x = x[dist.abs() >= margin][:n]
    return x, (x @ w_true >= theta_true).to(F64)


def novikoff_bound(x: torch.Tensor, t: torch.Tensor, w: torch.Tensor, theta: float) -> float:
    """(R / gamma)^2 for inputs augmented with the constant -1 and the separator (w, theta)."""
    xa = torch.cat([x, -torch.ones(len(x), 1, dtype=x.dtype)], 1)  # (N, D+1)
    wa = torch.cat([w, torch.tensor([theta], dtype=x.dtype)])
    signed = (2 * t - 1) * (xa @ wa) / wa.norm()
    return float((xa.norm(dim=1).max() / signed.min()) ** 2)


def perceptron_rows() -> tuple[list[dict], dict]:
    x, t = separable_data()
    w, theta, history = train_perceptron(x, t, torch.zeros(2, dtype=F64), torch.tensor(0.0, dtype=F64))
    bound = novikoff_bound(x, t, torch.tensor([1.0, 2.0], dtype=F64), 0.3)
    total = sum(history)
    rows = [row("perceptron, separable data: converged (an epoch without mistakes)", True,
                history[-1] == 0, history[-1] == 0),
            row("perceptron: mistakes <= Novikoff's bound (R/gamma)^2", f"<= {bound:.1f}", total,
                total <= bound)]
    # XOR: integer inputs and lr = 1 keep the weights integer, so a repeated state is exact proof
    # that the perceptron cycles for ever.
    xor_x = torch.tensor([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]], dtype=F64)
    xor_t = torch.tensor([0.0, 1.0, 1.0, 0.0], dtype=F64)
    xw, xtheta = torch.zeros(2, dtype=F64), torch.tensor(0.0, dtype=F64)
    seen, cycle_at, least = {}, None, 4
    for epoch in range(100):
        xw, xtheta, mistakes = perceptron_epoch(xor_x, xor_t, xw, xtheta, 1.0)
        least = min(least, int(mistakes))
        key = tuple(xw.tolist()) + (float(xtheta),)
        if key in seen:
            cycle_at = (seen[key], epoch)
            break
        seen[key] = epoch
    rows.append(row("perceptron on XOR: never converges (weights cycle, every epoch has a mistake)",
                    "never converges", f"cycle between epochs {cycle_at}, fewest mistakes {least}",
                    cycle_at is not None and least > 0))
    return rows, {"x": x, "t": t, "w": w, "theta": theta}


def iris_rows() -> tuple[list[dict], dict]:
    """Setosa against the rest on petal length and width: linearly separable, so the perceptron converges."""
    from sklearn.datasets import load_iris

    data = load_iris()
    x = torch.tensor(data.data[:, 2:4], dtype=F64)
    t = torch.tensor(data.target == 0, dtype=F64)
    w, theta, history = train_perceptron(x, t, torch.zeros(2, dtype=F64), torch.tensor(0.0, dtype=F64),
                                         lr=0.1)
    acc = float((ltu_forward(x, w, theta) == t).to(F64).mean())
    return [row("iris setosa vs rest (petal length, width): perceptron accuracy", 1.0, acc,
                acc == 1.0 and history[-1] == 0)], {"x": x, "t": t, "w": w, "theta": theta}


def lms_rows(steps: int = 2000, lr: float = 0.5) -> list[dict]:
    g = torch.Generator().manual_seed(1)
    x = torch.randn(100, 3, generator=g, dtype=F64)
    t = x @ torch.tensor([0.5, -1.0, 2.0], dtype=F64) + 0.7 + 0.3 * torch.randn(100, generator=g, dtype=F64)
    w, b = torch.zeros(3, dtype=F64), torch.tensor(0.0, dtype=F64)
    for _ in range(steps):
        w, b = lms_step(x, t, w, b, lr)
    xa = torch.cat([x, torch.ones(100, 1, dtype=F64)], 1)
    ls = torch.linalg.lstsq(xa, t[:, None]).solution[:, 0]
    err = float((torch.cat([w, b[None]]) - ls).abs().max())
    # The generalised delta rule: one sigmoid unit learns AND.
    ax = torch.tensor([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]], dtype=F64)
    at = torch.tensor([0.0, 0.0, 0.0, 1.0], dtype=F64)
    sw, sb = torch.zeros(2, dtype=F64), torch.tensor(0.0, dtype=F64)
    for _ in range(5000):
        sw, sb = sigmoid_delta_step(ax, at, sw, sb, 2.0)
    pred = [int(v) for v in (torch.sigmoid(ax @ sw + sb) > 0.5).tolist()]
    return [row("LMS (Widrow-Hoff) weights vs torch.linalg.lstsq: max abs difference", "< 1e-8", err, err < 1e-8),
            row("generalised delta rule, one sigmoid unit on AND: predictions", [0, 0, 0, 1], pred,
                pred == [0, 0, 0, 1])]


def pca_data(n: int = 500, seed: int = 2) -> torch.Tensor:
    """Zero-mean 4-D Gaussian data with distinct variances along a random rotation."""
    g = torch.Generator().manual_seed(seed)
    q, _ = torch.linalg.qr(torch.randn(4, 4, generator=g, dtype=F64))
    x = torch.randn(n, 4, generator=g, dtype=F64) * torch.tensor([2.0, 1.2, 0.7, 0.3], dtype=F64) @ q.T
    return x - x.mean(0)


def hebbian_rows(steps: int = 300) -> tuple[list[dict], dict]:
    x = pca_data()
    evals, evecs = torch.linalg.eigh(x.T @ x / len(x))  # ascending
    pcs = evecs.flip(1)  # (D, D), first principal direction first
    g = torch.Generator().manual_seed(3)
    w0 = torch.randn(4, generator=g, dtype=F64) * 0.1
    hw, ow = w0.clone(), w0.clone()
    sw = torch.randn(4, 3, generator=g, dtype=F64) * 0.1
    hebb_norm, oja_norm = [float(hw.norm())], [float(ow.norm())]
    for _ in range(steps):
        hw = hebb_step(x, hw, 0.05)
        ow = oja_step(x, ow, 0.05)
        sw = sanger_step(x, sw, 0.05)
        hebb_norm.append(float(hw.norm()))
        oja_norm.append(float(ow.norm()))
    growth = hebb_norm[-1] / hebb_norm[0]
    monotone = all(b > a for a, b in zip(hebb_norm, hebb_norm[1:]))
    cos = float((ow @ pcs[:, 0]).abs() / ow.norm())
    sanger_cos = [round(float((sw[:, k] @ pcs[:, k]).abs() / sw[:, k].norm()), 6) for k in range(3)]
    rows = [row("plain Hebb: ||w|| after 300 steps / initial (grows without bound)", "> 1e6, increasing",
                growth, monotone and growth > 1e6),
            row("Oja: ||w|| after 300 steps", 1.0, round(oja_norm[-1], 9), abs(oja_norm[-1] - 1) < 1e-6),
            row("Oja: |cos| with the first principal component (torch.linalg.eigh)", "> 0.99", round(cos, 9),
                cos > 0.99),
            row("Sanger (GHA), k = 3: |cos| with principal components 1, 2, 3", "> 0.99 each", sanger_cos,
                min(sanger_cos) > 0.99)]
    return rows, {"hebb": hebb_norm, "oja": oja_norm}


def generic_rows() -> list[dict]:
    """The generic network, set up as a perceptron and as a Hopfield net, against the dedicated code."""
    g = torch.Generator().manual_seed(4)
    x = torch.randn(50, 3, generator=g, dtype=F64)
    w, theta = torch.randn(3, generator=g, dtype=F64), torch.tensor(0.2, dtype=F64)
    net = perceptron_network(w, theta)
    same_out = torch.equal(net.run(x)[:, 0], ltu_forward(x, w, theta))
    t = (torch.rand(50, generator=g) < 0.5).to(F64)
    net.learn(x, t, 0.5)
    w2, theta2, _ = perceptron_epoch(x, t, w, theta, 0.5)
    same_learn = torch.allclose(net.w[3, :3], w2, atol=1e-12) and torch.allclose(net.theta[3], theta2, atol=1e-12)

    patterns = torch.where(torch.rand(3, 32, generator=g) < 0.5, 1.0, -1.0).to(F64)
    order = torch.randperm(32, generator=g)
    hop = hopfield_network(32, order)
    hop.learn(patterns)
    w_ref = hopfield_weights(patterns)
    probe = patterns.clone()
    probe[:, :5] *= -1  # five flipped bits
    ours, ref = hop.update(probe), hopfield_update(w_ref, probe, order)
    return [row("generic network as a perceptron: outputs and one learning epoch equal the dedicated LTU",
                True, same_out and same_learn, same_out and same_learn),
            row("generic network as a Hopfield net: weights and asynchronous update equal the dedicated net",
                True, torch.equal(hop.w, w_ref) and torch.equal(ours, ref),
                torch.equal(hop.w, w_ref) and torch.equal(ours, ref)),
            row("Hopfield net (32 units, 3 patterns): recalls the stored patterns from 5 flipped bits", True,
                torch.equal(ref, patterns), torch.equal(ref, patterns))]


def run(plots: Path | None = None) -> list[dict]:
    perceptron, separable = perceptron_rows()
    iris, flowers = iris_rows()
    hebbian, norms = hebbian_rows()
    rows = gates() + perceptron + iris + lms_rows() + hebbian + generic_rows()
    if plots is not None:
        _plot(Path(plots), separable, flowers, norms)
    return rows


def _plot(folder: Path, separable: dict, flowers: dict, norms: dict) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    folder.mkdir(parents=True, exist_ok=True)
    fig, axes = plt.subplots(1, 2, figsize=(9, 4))
    for ax, data, title, labels in ((axes[0], separable, "perceptron, separable data", ("class 0", "class 1")),
                                    (axes[1], flowers, "iris: setosa vs rest", ("rest", "setosa"))):
        x, t = data["x"], data["t"]
        for value, label, marker in ((0.0, labels[0], "o"), (1.0, labels[1], "^")):
            pts = x[t == value]
            ax.scatter(pts[:, 0], pts[:, 1], s=12, marker=marker, label=label)
        x1 = torch.linspace(float(x[:, 0].min()), float(x[:, 0].max()), 50, dtype=F64)
        ax.plot(x1, decision_boundary(data["w"], data["theta"], x1), "k-", label="w.x = theta")
        ax.set_ylim(float(x[:, 1].min()) - 0.2, float(x[:, 1].max()) + 0.2)
        ax.set(title=title)
        ax.legend(fontsize=8)
    axes[0].set(xlabel="x1", ylabel="x2")
    axes[1].set(xlabel="petal length (cm)", ylabel="petal width (cm)")
    fig.tight_layout()
    fig.savefig(folder / "a01_decision_boundary.png", dpi=100)
    plt.close(fig)

    fig, ax = plt.subplots(figsize=(5, 3.5))
    ax.semilogy(norms["hebb"], label="plain Hebb")
    ax.semilogy(norms["oja"], label="Oja")
    ax.set(title="weight norm", xlabel="step", ylabel="||w||")
    ax.legend()
    fig.tight_layout()
    fig.savefig(folder / "a01_hebb_oja_norm.png", dpi=100)
    plt.close(fig)
