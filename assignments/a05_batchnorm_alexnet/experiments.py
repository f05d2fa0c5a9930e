"""Experiments of a05, reproduced with this package's own layers: AlexNet's shapes and parameter counts, LRN's constants, dropout, BN's faster convergence.

``run(plots=None)`` returns one row per quantity: {"quantity", "published", "ours", "ok"}.
Run it on the reference (``grader reproduce a05``) or, once your functions work, on yours.
"""
from __future__ import annotations

from pathlib import Path

import torch

from grader.experiments import digits_split, row, threads

from . import alexnet, bn_mlp, layers

F64 = torch.float64

# Krizhevsky et al. (2012), figure 2 and section 3.5: (layer, H x W x C) for a 227 x 227 input.
PUBLISHED_SHAPES = [("conv1", "55x55x96"), ("pool1", "27x27x96"), ("conv2", "27x27x256"), ("pool2", "13x13x256"),
                    ("conv3", "13x13x384"), ("conv4", "13x13x384"), ("conv5", "13x13x256"), ("pool5", "6x6x256")]
PUBLISHED_PARAMS = {"conv1": 34_944, "conv2": 307_456, "conv3": 885_120, "conv4": 663_936, "conv5": 442_624,
                    "fc6": 37_752_832, "fc7": 16_781_312, "fc8": 4_097_000}
PUBLISHED_TOTAL, PUBLISHED_TOTAL_UNGROUPED = 60_965_224, 62_378_344


def hwc(shape: tuple[int, ...]) -> str:
    c, h, w = shape
    return f"{h}x{w}x{c}"


def shape_table() -> list[dict]:
    """The AlexNet shape table, from the layer specs alone."""
    ours = dict(alexnet.layer_shapes(alexnet.ALEXNET))
    return [row(f"AlexNet {name} output (227x227 input), from the specs", published, hwc(ours[name]),
                hwc(ours[name]) == published) for name, published in PUBLISHED_SHAPES]


def parameter_counts() -> list[dict]:
    counts = alexnet.param_counts(alexnet.ALEXNET)
    rows = [row(f"AlexNet {name} parameters (weights + biases)", published, counts[name], counts[name] == published)
            for name, published in PUBLISHED_PARAMS.items()]
    total = sum(counts.values())
    ungrouped = sum(alexnet.param_counts(alexnet.ungrouped(alexnet.ALEXNET)).values())
    rows.append(row("AlexNet parameters, two-group conv2/conv4/conv5", PUBLISHED_TOTAL, total, total == PUBLISHED_TOTAL))
    rows.append(row("AlexNet parameters without groups", PUBLISHED_TOTAL_UNGROUPED, ungrouped,
                    ungrouped == PUBLISHED_TOTAL_UNGROUPED))
    return rows


def forward_shapes(seed: int = 0) -> list[dict]:
    """One 227 x 227 image through the hand-built AlexNet (float32, inference mode): the output of
    every prefix of the network that ends at a layer of the table, then the scores."""
    g = torch.Generator().manual_seed(seed)
    params = alexnet.init_params(alexnet.ALEXNET, g)
    x = torch.randn(1, *alexnet.INPUT, generator=g)
    names = [spec["name"] for spec in alexnet.ALEXNET]
    got = {}
    for name, _ in PUBLISHED_SHAPES:
        upto = alexnet.ALEXNET[:names.index(name) + 1]
        n_params = sum(spec["type"] in ("conv", "fc") for spec in upto)
        out, _ = alexnet.alexnet_forward(x, params[:n_params], None, upto, train=False)
        got[name] = hwc(tuple(out.shape[1:]))
    scores, _ = alexnet.alexnet_forward(x, params, None, alexnet.ALEXNET, train=False)
    same = all(got[name] == published for name, published in PUBLISHED_SHAPES)
    finite = bool(torch.isfinite(scores).all())
    return [row("AlexNet forward of one 227x227 image: conv1..pool5 shapes",
                ", ".join(p for _, p in PUBLISHED_SHAPES), ", ".join(got[n] for n, _ in PUBLISHED_SHAPES), same),
            row("AlexNet forward of one 227x227 image: scores shape (finite)", "1x1000",
                "x".join(str(s) for s in scores.shape), tuple(scores.shape) == (1, 1000) and finite)]


def lrn_constants(seed: int = 0) -> list[dict]:
    """The paper's alpha = 1e-4 (sum not divided by n) equals torch's alpha = n * 1e-4 = 5e-4."""
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(2, 16, 5, 5, generator=g, dtype=F64) * 30.0  # large enough for the sum to matter
    ours, _ = layers.lrn_forward(x, k=2.0, n=5, alpha=1e-4, beta=0.75)
    theirs = torch.nn.LocalResponseNorm(5, alpha=5e-4, beta=0.75, k=2.0)(x)
    err = float((ours - theirs).abs().max())
    return [row("LRN k=2, n=5, alpha=1e-4, beta=0.75 vs torch LocalResponseNorm(alpha=5e-4): max |diff|",
                "0 (alpha_torch = n * alpha_paper)", err, err < 1e-12)]


def dropout_statistics(p: float = 0.5, seed: int = 0) -> list[dict]:
    """Inverted dropout zeroes about p of the units and keeps the mean (no rescaling at test time)."""
    g = torch.Generator().manual_seed(seed)
    x = torch.rand(1000, 1000, generator=g, dtype=F64) + 0.5  # positive units, mean 1
    noise = torch.rand(x.shape, generator=g, dtype=F64)
    out, _ = layers.dropout_forward(x, p, noise, train=True)
    zeroed = float((out == 0).to(F64).mean())
    ratio = float(out.mean() / x.mean())
    return [row(f"dropout p={p}: fraction of units zeroed", p, round(zeroed, 5), abs(zeroed - p) < 0.005),
            row(f"dropout p={p}: mean of output / mean of input", 1.0, round(ratio, 5), abs(ratio - 1.0) < 0.005)]


def train_bn_mlp(bn: bool, epochs: int = 20, lr: float = 0.5, batch: int = 60, seed: int = 0) -> dict:
    """Train the 64-100-100-100-10 sigmoid network on digits, with or without BN, from the same
    initial weights and batch order. Returns per-step losses, per-epoch test accuracies and the
    {15, 50, 85}th percentiles of one last-hidden-layer sigmoid's input on the test set."""
    # Pixels scaled to [0, 1], not standardised: the network sees raw-ish inputs, as in the paper's MNIST run.
    x_tr, y_tr, x_te, y_te = digits_split(test_size=0.2, seed=seed)
    g = torch.Generator().manual_seed(seed)
    net = bn_mlp.init([64, 100, 100, 100, 10], g, bn)
    losses, accuracy, percentiles = [], [], []
    q = torch.tensor([0.15, 0.50, 0.85], dtype=F64)
    with threads(1):
        for _ in range(epochs):
            order = torch.randperm(len(x_tr), generator=g)
            for i in range(0, len(order), batch):
                idx = order[i:i + batch]
                scores, caches, _ = bn_mlp.forward(net, x_tr[idx], train=True)
                loss, dscores = bn_mlp.softmax_cross_entropy(scores, y_tr[idx])
                bn_mlp.sgd_step(net, bn_mlp.backward(net, dscores, caches), lr)
                losses.append(float(loss))
            scores, _, sigmoid_inputs = bn_mlp.forward(net, x_te, train=False)
            accuracy.append(float((scores.argmax(1) == y_te).to(F64).mean()))
            percentiles.append(torch.quantile(sigmoid_inputs[-1][:, 0], q).tolist())
    return {"loss": losses, "accuracy": accuracy, "percentiles": percentiles}


def first_epoch_at(accuracy: list[float], level: float) -> int | None:
    return next((i + 1 for i, a in enumerate(accuracy) if a >= level), None)


def bn_convergence(epochs: int = 20) -> tuple[list[dict], dict, dict]:
    """BN's faster convergence (Ioffe and Szegedy 2015, figure 1a): the same 3x100 sigmoid MLP
    trained with and without batch normalization before each sigmoid."""
    plain, normed = train_bn_mlp(False, epochs), train_bn_mlp(True, epochs)
    a_plain, a_bn = plain["accuracy"][-1], normed["accuracy"][-1]
    e_plain, e_bn = first_epoch_at(plain["accuracy"], 0.9), first_epoch_at(normed["accuracy"], 0.9)
    faster = e_bn is not None and (e_plain is None or e_bn < e_plain)
    never = f"not within {epochs}"
    return [row(f"digits 3x100 sigmoid MLP with BN: test accuracy after {epochs} epochs", ">= 0.95",
                round(a_bn, 4), a_bn >= 0.95),
            row(f"the same MLP without BN: test accuracy after {epochs} epochs", "below the BN network's",
                round(a_plain, 4), a_plain < a_bn),
            row("epochs to 90% test accuracy, with BN / without", "fewer with BN",
                f"{e_bn or never} / {e_plain or never}", faster)], plain, normed


def run(plots: Path | None = None) -> list[dict]:
    rows = shape_table() + parameter_counts() + forward_shapes() + lrn_constants() + dropout_statistics()
    bn_rows, plain, normed = bn_convergence()
    if plots is not None:
        _plot_bn(Path(plots), plain, normed)
    return rows + bn_rows


def _plot_bn(folder: Path, plain: dict, normed: dict) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    folder.mkdir(parents=True, exist_ok=True)
    fig, axes = plt.subplots(1, 4, figsize=(16, 3.5))
    epochs = range(1, len(plain["accuracy"]) + 1)
    axes[0].plot(plain["loss"], label="without BN", lw=0.8)
    axes[0].plot(normed["loss"], label="with BN", lw=0.8)
    axes[0].set(title="training loss (per batch)", xlabel="step", ylabel="cross-entropy")
    axes[1].plot(epochs, plain["accuracy"], label="without BN")
    axes[1].plot(epochs, normed["accuracy"], label="with BN")
    axes[1].set(title="test accuracy", xlabel="epoch", ylabel="accuracy", ylim=(0, 1))
    for ax, curve, title in ((axes[2], plain, "without BN"), (axes[3], normed, "with BN")):
        ax.plot(epochs, curve["percentiles"])
        ax.set(title=f"a last-layer sigmoid's input, {title}", xlabel="epoch", ylabel="15/50/85th percentile")
    axes[0].legend()
    axes[1].legend()
    fig.tight_layout()
    fig.savefig(folder / "a05_batchnorm_curves.png", dpi=100)
    plt.close(fig)
