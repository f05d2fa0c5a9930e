"""Experiments of a02, reproduced with this package's own layers: Mazur's worked example, XOR, digits.

``run(plots=None)`` returns one row per quantity: {"quantity", "published", "ours", "ok"}.
Run it on the reference (``grader reproduce a02``) or, once your functions work, on yours.
"""
from __future__ import annotations

import time
from pathlib import Path

import torch

from grader.experiments import digits_split, row

from .layers import mse_loss, softmax_cross_entropy
from .mlp import init_params, mlp_backward, mlp_forward, sgd_step

F64 = torch.float64


def matches_printed(ours: float, published: float, decimals: int) -> bool:
    """Equal to the published value to the digits it was printed with."""
    return abs(ours - published) <= 0.5 * 10.0 ** -decimals + 1e-15


def mazur() -> list[dict]:
    """Matt Mazur's "A Step by Step Backpropagation Example" (2-2-2 sigmoid net, one SGD step)."""
    x = torch.tensor([[0.05, 0.10]], dtype=F64)
    target = torch.tensor([[0.01, 0.99]], dtype=F64)
    # W[i, j] connects unit i of one layer to unit j of the next: w1 = i1->h1, w2 = i2->h1, ...
    w1 = torch.tensor([[0.15, 0.25], [0.20, 0.30]], dtype=F64)
    w2 = torch.tensor([[0.40, 0.50], [0.45, 0.55]], dtype=F64)
    params = [(w1, torch.full((2,), 0.35, dtype=F64)), (w2, torch.full((2,), 0.60, dtype=F64))]
    out, cache = mlp_forward(x, params, hidden="sigmoid", output="sigmoid")
    loss, dout = mse_loss(out, target)
    grads = mlp_backward(dout, cache)
    new = sgd_step(params, grads, lr=0.5)
    (nw1, _), (nw2, _) = new  # the example leaves the biases unchanged
    rows = [row("Mazur: initial total error", 0.298371109, float(loss),
                matches_printed(float(loss), 0.298371109, 9))]
    published_out = [0.35891648, 0.40866619, 0.51130127, 0.56137012]
    ours_out = [nw2[0, 0], nw2[1, 0], nw2[0, 1], nw2[1, 1]]  # w5, w6, w7, w8
    published_hid = [0.14978072, 0.19956143, 0.24975114, 0.29950229]
    ours_hid = [nw1[0, 0], nw1[1, 0], nw1[0, 1], nw1[1, 1]]  # w1, w2, w3, w4
    for k, (p, o) in enumerate(zip(published_hid + published_out, ours_hid + ours_out)):
        rows.append(row(f"Mazur: w{k + 1} after one step", p, float(o), matches_printed(float(o), p, 8)))
    return rows


XOR_X = [[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]]
XOR_Y = [[0.0], [1.0], [1.0], [0.0]]
# Fixed initial weights of the 2-2-1 sigmoid net (break the symmetry between the hidden units).
XOR_INIT = ([[0.8, 0.4], [0.9, 0.5]], [-0.3, 0.6], [[0.7], [-0.6]], [0.1])


def xor(epochs: int = 6000, lr: float = 2.0) -> tuple[list[dict], list[float]]:
    """A 2-2-1 sigmoid network learns XOR by full-batch gradient descent on the squared error."""
    x, y = torch.tensor(XOR_X, dtype=F64), torch.tensor(XOR_Y, dtype=F64)
    w1, b1, w2, b2 = (torch.tensor(v, dtype=F64) for v in XOR_INIT)
    params = [(w1, b1), (w2, b2)]
    curve = []
    for _ in range(epochs):
        out, cache = mlp_forward(x, params, hidden="sigmoid", output="sigmoid")
        loss, dout = mse_loss(out, y)
        curve.append(float(loss))
        params = sgd_step(params, mlp_backward(dout, cache), lr)
    out, _ = mlp_forward(x, params, hidden="sigmoid", output="sigmoid")
    predicted = [int(v) for v in (out.view(-1) > 0.5).tolist()]
    mse = float(((out - y) ** 2).mean())
    return [row("XOR 2-2-1: predictions for 00, 01, 10, 11", [0, 1, 1, 0], predicted, predicted == [0, 1, 1, 0]),
            row("XOR 2-2-1: mean squared error after training", "< 0.01", round(mse, 6), mse < 0.01)], curve


def digits(epochs: int = 40, lr: float = 0.1, batch: int = 32, seed: int = 0) -> tuple[list[dict], list[float]]:
    """A 64-128-10 ReLU MLP on scikit-learn's 8x8 digits, stratified 80/20 split, each pixel standardised,
    minibatch SGD."""
    x_tr, y_tr, x_te, y_te = digits_split(test_size=0.2, seed=seed, scale="standard")
    g = torch.Generator().manual_seed(seed)
    params = init_params([64, 128, 10], g)
    start = time.perf_counter()
    curve = []
    for _ in range(epochs):
        order = torch.randperm(len(x_tr), generator=g)
        for i in range(0, len(order), batch):
            idx = order[i:i + batch]
            scores, cache = mlp_forward(x_tr[idx], params, hidden="relu")
            loss, dscores = softmax_cross_entropy(scores, y_tr[idx])
            params = sgd_step(params, mlp_backward(dscores, cache), lr)
        curve.append(float(loss))
    seconds = time.perf_counter() - start
    scores, _ = mlp_forward(x_te, params, hidden="relu")
    acc = float((scores.argmax(1) == y_te).to(F64).mean())
    return [row("digits MLP 64-128-10: test accuracy", ">= 0.95", round(acc, 4), acc >= 0.95),
            row("digits MLP: training time (s)", "seconds (< 60)", round(seconds, 2), seconds < 60)], curve


def run(plots: Path | None = None) -> list[dict]:
    rows = mazur()
    xor_rows, xor_curve = xor()
    digit_rows, digit_curve = digits()
    if plots is not None:
        _plot_curves(Path(plots), xor_curve, digit_curve)
    return rows + xor_rows + digit_rows


def _plot_curves(folder: Path, xor_curve: list[float], digit_curve: list[float]) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    folder.mkdir(parents=True, exist_ok=True)
    fig, axes = plt.subplots(1, 2, figsize=(9, 3.5))
    axes[0].semilogy(xor_curve)
    axes[0].set(title="XOR 2-2-1: squared error", xlabel="epoch", ylabel="loss")
    axes[1].plot(digit_curve)
    axes[1].set(title="digits MLP: last batch loss", xlabel="epoch", ylabel="cross-entropy")
    fig.tight_layout()
    fig.savefig(folder / "a02_training_curves.png", dpi=100)
    plt.close(fig)
