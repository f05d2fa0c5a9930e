"""Experiments of a04, reproduced with this package's own layers: LeNet-5's size, output sizes, digits.

``run(plots=None)`` returns one row per quantity: {"quantity", "published", "ours", "ok"}.
Run it on the reference (``grader reproduce a04``) or, once your functions work, on yours.
"""
from __future__ import annotations

import time
from pathlib import Path

import torch

from grader.experiments import digits_split, row

from . import conv, pool
from .lenet import init_lenet, lenet_forward, lenet_train_step, parameter_count

F64 = torch.float64


# LeCun et al. 1998, Table I: the S2 maps (0-5) each C3 map (0-15) is connected to.
C3_TABLE = ((0, 1, 2), (1, 2, 3), (2, 3, 4), (3, 4, 5), (4, 5, 0), (5, 0, 1),
            (0, 1, 2, 3), (1, 2, 3, 4), (2, 3, 4, 5), (3, 4, 5, 0), (4, 5, 0, 1), (5, 0, 1, 2),
            (0, 1, 3, 4), (1, 2, 4, 5), (0, 2, 3, 5), (0, 1, 2, 3, 4, 5))


def lenet_1998_layers() -> list[tuple[str, int, int]]:
    """(layer, trainable parameters, connections) of the original LeNet-5 on a 32x32 input.

    S2 and S4 multiply each map's 2x2 sum by one trainable coefficient and add one bias;
    C3 follows Table I; the output RBF units have fixed, hand-chosen centres (no parameters).
    """
    c1 = 6 * (5 * 5 + 1)
    s2 = 6 * 2
    c3 = sum(len(inputs) for inputs in C3_TABLE) * 5 * 5 + len(C3_TABLE)
    s4 = 16 * 2
    c5 = 120 * (16 * 5 * 5 + 1)
    f6 = 84 * (120 + 1)
    return [("C1", c1, c1 * 28 * 28), ("S2", s2, 14 * 14 * 6 * (4 + 1)), ("C3", c3, c3 * 10 * 10),
            ("S4", s4, 5 * 5 * 16 * (4 + 1)), ("C5", c5, c5), ("F6", f6, f6), ("output (RBF)", 0, 84 * 10)]


def parameter_rows() -> list[dict]:
    modern = init_lenet(torch.Generator().manual_seed(0))
    ours = parameter_count(modern)
    rows = [row("LeNet-5 modern (full C3, linear output): parameters", 61706, ours, ours == 61706)]
    published = {"C1": (156, 122304), "S2": (12, 5880), "C3": (1516, 151600), "S4": (32, 2000),
                 "C5": (48120, 48120), "F6": (10164, 10164)}
    layers = lenet_1998_layers()
    for name, params, connections in layers:
        if name in published:
            p, c = published[name]
            rows.append(row(f"LeNet-5 1998 {name}: parameters, connections", f"{p:,}, {c:,}",
                            f"{params:,}, {connections:,}", (params, connections) == (p, c)))
    total = sum(p for _, p, _ in layers)
    links = sum(c for _, _, c in layers)
    rows.append(row("LeNet-5 1998: trainable parameters", 60000, total, total == 60000))
    rows.append(row("LeNet-5 1998: connections", 340908, links, links == 340908))
    return rows


# (where the case comes from, input side, kernel, padding, stride, published output side, pooling?)
OUTPUT_SIZE_CASES = (
    ("LeNet-5 C1", 32, 5, 0, 1, 28, False),
    ("LeNet-5 S2", 28, 2, 0, 2, 14, True),
    ("LeNet-5 C3", 14, 5, 0, 1, 10, False),
    ("AlexNet conv1", 227, 11, 0, 4, 55, False),
    ("AlexNet overlapping pool1", 55, 3, 0, 2, 27, True),
    ("AlexNet conv2", 27, 5, 2, 1, 27, False),
    ("VGG 3x3 'same'", 224, 3, 1, 1, 224, False),
    ("ResNet conv1", 224, 7, 3, 2, 112, False),
    ("CS231n 7x7, 3x3, stride 2", 7, 3, 0, 2, 3, False),
)


def output_size_rows() -> list[dict]:
    """H' = (H + 2P - K) / S + 1, checked on the shapes our layers and torch actually produce."""
    rows = []
    for name, h, k, p, s, published, pooling in OUTPUT_SIZE_CASES:
        x = torch.zeros(1, 1, h, h + 1, dtype=F64)  # W = H + 1: rows and columns must not be swapped
        if pooling:
            out, _ = pool.max_pool_forward(x, k, k, s)
            torch_out = torch.nn.functional.max_pool2d(x, k, s)
        else:
            w = torch.zeros(1, 1, k, k, dtype=F64)
            out, _ = conv.conv_forward(x, w, torch.zeros(1, dtype=F64), s, p)
            torch_out = torch.nn.functional.conv2d(x, w, stride=s, padding=p)
        formula = (h + 2 * p - k) // s + 1
        ok = out.shape[2] == published == formula == torch_out.shape[2] and out.shape[3] == torch_out.shape[3]
        rows.append(row(f"output size, {name}: H={h}, K={k}, P={p}, S={s}", published, int(out.shape[2]), ok))
    return rows


def digits_data(seed: int = 0, dtype=F64):
    """scikit-learn's 8x8 digits, upsampled to 28x28 and centred in a 32x32 field as in the paper;
    stratified 80/20 split, standardised with the training set's mean and deviation."""
    x_tr, y_tr, x_te, y_te = digits_split(test_size=0.2, seed=seed, images=True, dtype=dtype)  # (N, 1, 8, 8)

    def field(images: torch.Tensor) -> torch.Tensor:  # (N, 1, 32, 32)
        images = torch.nn.functional.interpolate(images, size=(28, 28), mode="bilinear", align_corners=False)
        return torch.nn.functional.pad(images, (2, 2, 2, 2))

    x_tr, x_te = field(x_tr), field(x_te)
    mean, std = x_tr.mean(), x_tr.std()
    return (x_tr - mean) / std, y_tr, (x_te - mean) / std, y_te


def accuracy(params: dict, x: torch.Tensor, y: torch.Tensor, batch: int = 256) -> float:
    right = 0
    for i in range(0, len(x), batch):
        scores, _ = lenet_forward(x[i:i + batch], params)
        right += int((scores.argmax(1) == y[i:i + batch]).sum())
    return right / len(x)


def train_lenet(epochs: int = 12, lr: float = 0.05, batch: int = 32, seed: int = 0, limit: int | None = None,
                dtype=torch.float32) -> tuple[dict, list[float], float, float]:
    """LeNet-5 on digits by minibatch SGD with this package's backward pass.

    Returns (params, per-epoch mean training loss, test accuracy, training seconds).
    ``limit`` keeps only the first ``limit`` training images (for quick checks).
    """
    x_tr, y_tr, x_te, y_te = digits_data(seed, dtype)
    if limit is not None:
        x_tr, y_tr = x_tr[:limit], y_tr[:limit]
    g = torch.Generator().manual_seed(seed)
    params = init_lenet(g, dtype=dtype)
    curve = []
    start = time.perf_counter()
    for _ in range(epochs):
        order = torch.randperm(len(x_tr), generator=g)
        losses = []
        for i in range(0, len(order), batch):
            idx = order[i:i + batch]
            loss, params = lenet_train_step(x_tr[idx], y_tr[idx], params, lr)
            losses.append(float(loss))
        curve.append(sum(losses) / len(losses))
    seconds = time.perf_counter() - start
    return params, curve, accuracy(params, x_te, y_te), seconds


def digits_rows(plots: Path | None = None) -> list[dict]:
    params, curve, acc, seconds = train_lenet()
    if plots is not None:
        _plot_lenet(Path(plots), params, curve)
    return [row("LeNet-5 on digits (8x8 upsampled to 32x32): test accuracy", ">= 0.97", round(acc, 4), acc >= 0.97),
            row("LeNet-5 on digits: training time (s)", "seconds (< 300)", round(seconds, 1), seconds < 300)]


def run(plots: Path | None = None) -> list[dict]:
    return parameter_rows() + output_size_rows() + digits_rows(plots)


def _plot_lenet(folder: Path, params: dict, curve: list[float]) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.colors import Normalize

    from .layers import relu_forward

    folder.mkdir(parents=True, exist_ok=True)
    filters = params["C1_w"][:, 0].to(F64)  # (6, 5, 5)
    fig, axes = plt.subplots(1, len(filters) + 1, figsize=(2 * (len(filters) + 1) + 1, 2.6), layout="constrained")
    bound = float(filters.abs().max())
    norm = Normalize(-bound, bound)  # one scale for every filter, so they compare
    for i, (ax, f) in enumerate(zip(axes, filters)):
        image = ax.imshow(f.numpy(), cmap="gray", norm=norm)
        ax.set(title=f"C1 filter {i}", xticks=[], yticks=[])
    fig.colorbar(image, ax=list(axes[:-1]), label="weight", fraction=0.02)
    axes[-1].plot(curve)
    axes[-1].set(title="training loss", xlabel="epoch", ylabel="cross-entropy")
    fig.savefig(folder / "a04_lenet_c1_filters.png", dpi=100)
    plt.close(fig)

    _, _, x_te, y_te = digits_data(dtype=params["C1_w"].dtype)
    x = x_te[:1]  # (1, 1, 32, 32)
    c1, _ = relu_forward(conv.conv_forward(x, params["C1_w"], params["C1_b"])[0])  # (1, 6, 28, 28)
    s2, _ = pool.max_pool_forward(c1, 2, 2, 2)  # (1, 6, 14, 14)
    c3, _ = relu_forward(conv.conv_forward(s2, params["C3_w"], params["C3_b"])[0])  # (1, 16, 10, 10)
    fig, axes = plt.subplots(3, 16, figsize=(17, 3.6), layout="constrained")
    for ax in axes.flat:
        ax.axis("off")
    image = axes[0, 0].imshow(x[0, 0].to(F64).numpy(), cmap="gray")
    axes[0, 0].set_title(f"input ({int(y_te[0])})", fontsize=8)
    fig.colorbar(image, ax=list(axes[0]), label="pixel", fraction=0.02)
    for r, (maps, name) in enumerate(((c1, "C1"), (c3, "C3")), start=1):
        norm = Normalize(0.0, float(maps.max()))  # one scale per layer, so maps compare
        for i in range(maps.shape[1]):
            image = axes[r, i].imshow(maps[0, i].to(F64).numpy(), cmap="viridis", norm=norm)
            axes[r, i].set_title(f"{name}.{i}", fontsize=8)
        fig.colorbar(image, ax=list(axes[r]), label=f"{name} activation", fraction=0.02)
    fig.suptitle("LeNet-5 feature maps of one test digit", fontsize=9)
    fig.savefig(folder / "a04_lenet_feature_maps.png", dpi=100, bbox_inches="tight")
    plt.close(fig)
