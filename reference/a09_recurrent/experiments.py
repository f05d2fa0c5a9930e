"""Experiments of a09, reproduced with this package's own functions: tanh's vanishing gradient and its bound,
the LSTM's forget gate keeping the gradient alive, a recall task the LSTM learns and the tanh RNN does not,
and a recursive network that learns the parity of a tree's leaves.

``run(plots=None)`` returns one row per quantity: {"quantity", "published", "ours", "ok"}.
Run it on the reference (``grader reproduce a09``) or, once your functions work, on yours.
"""
from __future__ import annotations

from pathlib import Path

import torch

from grader.experiments import row, threads

from .lstm import lstm_backward, lstm_forward
from .rnn import many_to_one_loss, rnn_backward, rnn_forward
from .tree import tree_backward, tree_forward, tree_node_loss

F64 = torch.float64


# Gradient against distance.

def orthogonal(n: int, g: torch.Generator, dtype=F64) -> torch.Tensor:
    q, r = torch.linalg.qr(torch.randn(n, n, generator=g, dtype=dtype))
    return q * torch.sign(torch.diagonal(r))  # a uniformly random orthogonal matrix


def state_jacobian_norms(forward, backward, x: torch.Tensor, state: int) -> torch.Tensor:
    """||d h_t / d s_0||_2 for t = 1 .. T, where s_0 is the initial state ``backward``'s result number ``state``
    belongs to (h0 for the RNN, c0 for the LSTM), from one forward and one backward pass.

    By linearity one batch does every distance: block t of the batch (H copies of the same sequence)
    receives the identity as its upstream gradient at step t only, so its initial-state gradient is the
    Jacobian d h_t / d s_0."""
    steps = x.shape[0]
    h_out, cache = forward(x)
    hidden = h_out.shape[-1]
    dh = torch.zeros_like(h_out)  # (T, T*H, H)
    eye = torch.eye(hidden, dtype=x.dtype)
    for t in range(steps):
        dh[t, t * hidden:(t + 1) * hidden] = eye
    grads = backward(dh, cache)
    jac = grads[state].reshape(steps, hidden, hidden)  # (T, H, H): rows d h_t[j] / d s_0
    return torch.linalg.matrix_norm(jac, ord=2)


def gradient_survival(steps: int = 100, hidden: int = 8, inputs: int = 4, alpha: float = 0.9,
                      seed: int = 0) -> dict:
    """The tanh RNN with w_hh = alpha Q (Q orthogonal) against the LSTM with forget-gate bias 5 and 0:
    the norm of the gradient reaching the initial state from step t, for t = 1 .. steps."""
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(steps, 1, inputs, generator=g, dtype=F64).expand(steps, steps * hidden, inputs).contiguous()
    h0 = (0.5 * torch.randn(1, hidden, generator=g, dtype=F64)).expand(steps * hidden, hidden).contiguous()
    k = hidden ** -0.5
    w_ih = torch.randn(hidden, inputs, generator=g, dtype=F64) * inputs ** -0.5
    w_hh = alpha * orthogonal(hidden, g)
    b = torch.randn(hidden, generator=g, dtype=F64) * 0.1
    zero = torch.zeros(hidden, dtype=F64)
    with threads(1):
        curves = {"rnn": state_jacobian_norms(lambda v: rnn_forward(v, h0, w_ih, w_hh, b, zero), rnn_backward, x, 1)}
    lw_ih = (torch.rand(4 * hidden, inputs, generator=g, dtype=F64) * 2 - 1) * k  # torch's default init
    lw_hh = (torch.rand(4 * hidden, hidden, generator=g, dtype=F64) * 2 - 1) * k
    lb = (torch.rand(4 * hidden, generator=g, dtype=F64) * 2 - 1) * k
    for bias in (5.0, 0.0):
        b_ih = lb.clone()
        b_ih[hidden:2 * hidden] = bias  # the forget gate's rows
        with threads(1):
            curves[f"lstm {bias:g}"] = state_jacobian_norms(
                lambda v: lstm_forward(v, h0, h0, lw_ih, lw_hh, b_ih, torch.zeros_like(b_ih)), lstm_backward, x, 2)
    curves["bound"] = alpha ** torch.arange(1, steps + 1, dtype=F64)
    return curves


def gradient_rows(curves: dict, alpha: float = 0.9) -> list[dict]:
    steps = len(curves["rnn"])
    ratio = float((curves["rnn"] / curves["bound"]).max())
    rnn_end, lstm_end, closed_end = (float(curves[k][-1]) for k in ("rnn", "lstm 5", "lstm 0"))
    return [
        row(f"tanh RNN, w_hh = {alpha} Q: max over t <= {steps} of ||dh_t/dh_0|| / sigma_max(w_hh)^t",
            "<= 1 (||dh_t/dh_0|| <= sigma_max^t)", round(ratio, 4), ratio <= 1.0 + 1e-12),
        row(f"tanh RNN, w_hh = {alpha} Q: ||dh_{steps}/dh_0|| (vanished)", f"<= {alpha}^{steps} = {alpha ** steps:.2e}",
            f"{rnn_end:.2e}", rnn_end <= alpha ** steps),
        row(f"LSTM, forget-gate bias 5: ||dh_{steps}/dc_0|| (survives {steps} steps)", ">= 1e-2",
            f"{lstm_end:.2e}", lstm_end >= 1e-2),
        row(f"LSTM, forget-gate bias 0: ||dh_{steps}/dc_0|| (vanished)", "<= 1e-6", f"{closed_end:.2e}",
            closed_end <= 1e-6),
    ]


# Recall across a long gap: the LSTM against the tanh RNN.

def recall_batch(n: int, steps: int, symbols: int, g: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """x (T, N, K): one of K symbols (one-hot) at t = 0, then T - 1 blank steps; y (N,) the symbol,
    to be named after the last step: the information must cross T - 1 steps of the recurrence."""
    y = torch.randint(0, symbols, (n,), generator=g)
    x = torch.zeros(steps, n, symbols, dtype=F64)
    x[0, torch.arange(n), y] = 1.0
    return x, y


class Adam:
    """Adam (Kingma and Ba) over a list of tensors, updated in place."""

    def __init__(self, params: list[torch.Tensor], lr: float, betas=(0.9, 0.999), eps: float = 1e-8):
        self.params, self.lr, self.betas, self.eps, self.t = params, lr, betas, eps, 0
        self.m = [torch.zeros_like(p) for p in params]
        self.v = [torch.zeros_like(p) for p in params]

    def step(self, grads: list[torch.Tensor]) -> None:
        self.t += 1
        b1, b2 = self.betas
        for p, gr, m, v in zip(self.params, grads, self.m, self.v):
            m.mul_(b1).add_((1 - b1) * gr)
            v.mul_(b2).add_((1 - b2) * gr * gr)
            p.sub_(self.lr * (m / (1 - b1 ** self.t)) / ((v / (1 - b2 ** self.t)).sqrt() + self.eps))


def train_recall(cell: str, steps: int = 30, symbols: int = 4, hidden: int = 16, iters: int = 150,
                 batch: int = 32, lr: float = 1e-2, forget_bias: float = 5.0, seed: int = 0) -> dict:
    """Train an LSTM (forget-gate bias ``forget_bias``) or a tanh RNN with a many-to-one head on :func:`recall_batch`
    with Adam; returns the training losses and the accuracy on 1000 fresh sequences."""
    g = torch.Generator().manual_seed(seed)
    gates, inputs = (4 if cell == "lstm" else 1), symbols
    k = hidden ** -0.5
    params = [(torch.rand(*shape, generator=g, dtype=F64) * 2 - 1) * k for shape in
              [(gates * hidden, inputs), (gates * hidden, hidden), (gates * hidden,), (gates * hidden,),
               (symbols, hidden), (symbols,)]]
    if cell == "lstm":
        params[2][hidden:2 * hidden] += forget_bias  # a large forget-gate bias: remember by default
    opt = Adam(params, lr)

    def forward(x):
        n = x.shape[1]
        h0 = torch.zeros(n, hidden, dtype=F64)
        if cell == "lstm":
            return lstm_forward(x, h0, h0, *params[:4])
        return rnn_forward(x, h0, *params[:4])

    losses = []
    with threads(1):
        for _ in range(iters):
            x, y = recall_batch(batch, steps, symbols, g)
            h, cache = forward(x)
            loss, dh, dw, db = many_to_one_loss(h, params[4], params[5], y)
            grads = (lstm_backward if cell == "lstm" else rnn_backward)(dh, cache)
            opt.step([grads[-4], grads[-3], grads[-2], grads[-1], dw, db])
            losses.append(float(loss))
        x, y = recall_batch(1000, steps, symbols, g)
        h, _ = forward(x)
        accuracy = float(((h[-1] @ params[4].T + params[5]).argmax(1) == y).to(F64).mean())
    return {"loss": losses, "accuracy": accuracy}


def recall_rows(lstm: dict, rnn: dict, steps: int, symbols: int) -> list[dict]:
    return [row(f"copy task: name the symbol (1 of {symbols}) seen {steps - 1} steps earlier; LSTM, test accuracy",
                ">= 0.95",
                round(lstm["accuracy"], 4), lstm["accuracy"] >= 0.95),
            row(f"the same with a tanh RNN: test accuracy (chance {1 / symbols:g})", "< 0.5 (does not learn)",
                round(rnn["accuracy"], 4), rnn["accuracy"] < 0.5)]


# Parity over trees.

def random_trees(count: int, low: int, high: int, g: torch.Generator) -> tuple[torch.Tensor, ...]:
    """A forest of ``count`` random binary trees of low..high leaves, in post-order: random leaf bits (L,),
    children (M, 2) and every node's label (L + M,), the parity of the bits below it; roots (count,)."""
    sizes = torch.randint(low, high + 1, (count,), generator=g).tolist()
    total = sum(sizes)
    bits = torch.randint(0, 2, (total,), generator=g)
    labels, rows, roots = bits.tolist(), [], []

    def build(lo: int, hi: int) -> int:
        if hi - lo == 1:
            return lo
        split = int(torch.randint(lo + 1, hi, (1,), generator=g))
        left, right = build(lo, split), build(split, hi)
        rows.append([left, right])
        labels.append(labels[left] ^ labels[right])
        return total + len(rows) - 1

    start = 0
    for size in sizes:
        roots.append(build(start, start + size))
        start += size
    return bits, torch.tensor(rows, dtype=torch.int64).reshape(-1, 2), torch.tensor(labels), torch.tensor(roots)


def train_tree_parity(dim: int = 12, iters: int = 150, batch: int = 32, leaves: tuple[int, int] = (2, 8),
                      lr: float = 2e-2, seed: int = 0) -> dict:
    """A recursive network (leaf embeddings for 0 and 1, one composition, a node classifier) trained with
    Adam on the parity of every node; returns the losses and the root accuracy on 1000 held-out trees."""
    g = torch.Generator().manual_seed(seed)
    embed = torch.randn(2, dim, generator=g, dtype=F64)
    w = torch.randn(dim, 2 * dim, generator=g, dtype=F64) * (2 * dim) ** -0.5
    b = torch.zeros(dim, dtype=F64)
    w_s, b_s = torch.randn(2, dim, generator=g, dtype=F64) * dim ** -0.5, torch.zeros(2, dtype=F64)
    opt = Adam([embed, w, b, w_s, b_s], lr)
    losses = []
    with threads(1):
        for _ in range(iters):
            bits, children, labels, _ = random_trees(batch, *leaves, g)
            nodes, cache = tree_forward(embed[bits], children, w, b)
            loss, dnodes, dw_s, db_s = tree_node_loss(nodes, w_s, b_s, labels)
            dleaves, dw, db = tree_backward(dnodes, cache)
            dembed = torch.zeros_like(embed).index_add_(0, bits, dleaves)
            opt.step([dembed, dw, db, dw_s, db_s])
            losses.append(float(loss))
        bits, children, labels, roots = random_trees(1000, *leaves, g)
        nodes, _ = tree_forward(embed[bits], children, w, b)
        predicted = (nodes[roots] @ w_s.T + b_s).argmax(1)
        accuracy = float((predicted == labels[roots]).to(F64).mean())
    return {"loss": losses, "accuracy": accuracy}


def tree_rows(result: dict, leaves: tuple[int, int]) -> list[dict]:
    return [row(f"recursive network, parity of {leaves[0]}..{leaves[1]} leaf bits: root accuracy on 1000 "
                "held-out trees", ">= 0.95", round(result["accuracy"], 4), result["accuracy"] >= 0.95)]


def run(plots: Path | None = None) -> list[dict]:
    curves = gradient_survival()
    recall = {cell: train_recall(cell) for cell in ("lstm", "rnn")}
    parity = train_tree_parity()
    if plots is not None:
        _plot(Path(plots), curves, recall, parity)
    return gradient_rows(curves) + recall_rows(recall["lstm"], recall["rnn"], 30, 4) + tree_rows(parity, (2, 8))


def _plot(folder: Path, curves: dict, recall: dict, parity: dict) -> None:
    _plot_gradients(folder, curves)
    _plot_training(folder, recall, parity)


def _plot_gradients(folder: Path, curves: dict) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    folder.mkdir(parents=True, exist_ok=True)
    fig, ax = plt.subplots(figsize=(7, 4.5))
    t = range(1, len(curves["rnn"]) + 1)
    ax.semilogy(t, curves["rnn"], label="tanh RNN, w_hh = 0.9 Q: ||dh_t/dh_0||")
    ax.semilogy(t, curves["bound"], "k--", label="bound sigma_max(w_hh)^t = 0.9^t")
    ax.semilogy(t, curves["lstm 5"], label="LSTM, forget-gate bias 5: ||dh_t/dc_0||")
    ax.semilogy(t, curves["lstm 0"], label="LSTM, forget-gate bias 0: ||dh_t/dc_0||")
    ax.set(title="gradient reaching the initial state from step t", xlabel="distance t (steps)",
           ylabel="gradient norm (spectral, log scale)")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(folder / "a09_gradient_vs_distance.png", dpi=100)
    plt.close(fig)


def _plot_training(folder: Path, recall: dict, parity: dict) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    folder.mkdir(parents=True, exist_ok=True)
    fig, axes = plt.subplots(1, 2, figsize=(11, 4))
    for cell, label in (("lstm", "LSTM"), ("rnn", "tanh RNN")):
        axes[0].plot(recall[cell]["loss"], label=f"{label} (test accuracy {recall[cell]['accuracy']:.2f})", lw=0.8)
    axes[0].set(title="copy task: the symbol seen 29 steps earlier", xlabel="training step", ylabel="cross-entropy")
    axes[0].legend()
    axes[1].plot(parity["loss"], lw=0.8, label=f"held-out root accuracy {parity['accuracy']:.3f}")
    axes[1].set(title="recursive network: parity of the leaves of a tree", xlabel="training step",
                ylabel="cross-entropy (mean over nodes)")
    axes[1].legend()
    fig.tight_layout()
    fig.savefig(folder / "a09_training.png", dpi=100)
    plt.close(fig)
