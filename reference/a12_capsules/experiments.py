"""Experiments of a12, reproduced with this package's own functions: the MNIST CapsNet's parameter counts
and shapes (Sabour, Frosst and Hinton 2017, section 4), and a small CapsNet trained on scikit-learn's digits.

``run(plots=None)`` returns one row per quantity: {"quantity", "published", "ours", "ok"}.
Run it on the reference (``grader reproduce a12``) or, once your functions work, on yours.
"""
from __future__ import annotations

from pathlib import Path

import torch

from grader.experiments import digits_split, row, threads

from . import capsnet, losses

F64 = torch.float64

# A CapsNet for 8 x 8 digits: conv1 16 3 x 3 kernels -> 6 x 6, PrimaryCaps 8 types of 8-D capsules from
# 3 x 3 kernels, stride 1 -> 4 x 4 x 8 = 128 capsules, DigitCaps 10 x 8-D, decoder 64 -> 128 -> 64 pixels.
SMALL = {"image": (1, 8, 8), "conv1": (16, 3), "primary": (8, 8, 3, 1), "digits": (10, 8), "decoder": (64, 128)}


def mnist_counts_and_shapes(seed: int = 0) -> list[dict]:
    """The paper's network built by :mod:`capsnet`: its parameter tensors counted, and one image run
    through conv1, PrimaryCaps and DigitCaps to read the shapes off the activations."""
    g = torch.Generator().manual_seed(seed)
    params = capsnet.init(capsnet.MNIST, g, dtype=torch.float32)
    counts = capsnet.parameter_counts(params)
    published = {"conv1": 20_992, "primary": 5_308_672, "digits": 1_474_560, "without decoder": 6_804_224,
                 "decoder": 1_411_344, "total": 8_215_568}
    names = {"conv1": "conv1 (256 9x9 kernels)", "primary": "PrimaryCaps (32 x 8-D, 9x9, stride 2)",
             "digits": "DigitCaps W_ij (1152 x 10 x 16 x 8)", "without decoder": "CapsNet without the decoder",
             "decoder": "decoder (160 -> 512 -> 1024 -> 784)", "total": "CapsNet in all"}
    rows = [row(f"MNIST CapsNet parameters: {names[k]}", f"{published[k]:,}", f"{counts[k]:,}", counts[k] == published[k])
            for k in published]
    x = torch.rand(1, 1, 28, 28, generator=g)
    with torch.no_grad(), threads(1):
        h, _ = capsnet.conv1_forward(x, params["conv1_w"], params["conv1_b"])
        v, (_, _, (u, _), _) = capsnet.forward(params, x, capsnet.MNIST)
    conv1 = "x".join(str(s) for s in (h.shape[2], h.shape[3], h.shape[1]))
    primary = f"{u.shape[1]} capsules of {u.shape[2]}-D"
    digits = f"{v.shape[1]} capsules of {v.shape[2]}-D"
    return rows + [row("MNIST CapsNet: conv1 output", "20x20x256", conv1, conv1 == "20x20x256"),
                   row("MNIST CapsNet: PrimaryCaps", "1152 capsules of 8-D", primary, primary == "1152 capsules of 8-D"),
                   row("MNIST CapsNet: DigitCaps", "10 capsules of 16-D", digits, digits == "10 capsules of 16-D")]


def train_digits(epochs: int = 5, batch: int = 32, lr: float = 3e-3, seed: int = 0,
                 train_size: int | None = None, test_size: int | None = None) -> dict:
    """Train the small CapsNet (margin loss + 0.0005 x reconstruction loss, 3 routing iterations, Adam).
    Returns per-epoch mean losses and test accuracies, and the test images with their reconstructions
    (decoder masked by the predicted class). ``train_size``, ``test_size``: the first that many of each split."""
    x_tr, y_tr, x_te, y_te = digits_split(test_size=0.2, seed=seed, images=True)  # pixels in [0, 1], 80/20
    x_tr, y_tr, x_te, y_te = x_tr[:train_size], y_tr[:train_size], x_te[:test_size], y_te[:test_size]  # None: all
    g = torch.Generator().manual_seed(seed)
    params, state = capsnet.init(SMALL, g), {}
    history = {"margin": [], "reconstruction": [], "accuracy": []}
    with threads(1):
        for _ in range(epochs):
            order, margin, recon = torch.randperm(len(x_tr), generator=g), 0.0, 0.0
            for i in range(0, len(order), batch):
                idx = order[i:i + batch]
                m, r, grads = capsnet.loss_and_grads(params, x_tr[idx], y_tr[idx], SMALL)
                params = capsnet.adam(params, grads, state, lr)
                margin, recon = margin + m * len(idx), recon + r * len(idx)
            history["margin"].append(margin / len(x_tr))
            history["reconstruction"].append(recon / len(x_tr))
            v, _ = capsnet.forward(params, x_te, SMALL)
            history["accuracy"].append(float((capsnet.predict(v) == y_te).to(F64).mean()))
        predicted = capsnet.predict(v)
        out, _ = losses.decoder_forward(v, predicted, params["decoder"])
    history.update(images=x_te.reshape(len(x_te), 8, 8), reconstructions=out.reshape(-1, 8, 8), labels=y_te,
                   predicted=predicted, lengths=(v * v).sum(dim=2).sqrt())
    return history


def digits_rows(history: dict) -> list[dict]:
    acc = history["accuracy"][-1]
    mse = float(((history["reconstructions"] - history["images"]) ** 2).mean())
    baseline = float(((history["images"].mean(0) - history["images"]) ** 2).mean())  # the mean image
    return [row(f"small CapsNet on digits 8x8: test accuracy after {len(history['accuracy'])} epochs",
                ">= 0.95", round(acc, 4), acc >= 0.95),
            row("its reconstructions (masked by the predicted class): mean squared pixel error",
                "< that of the mean image", f"{mse:.4f} < {baseline:.4f}", mse < baseline),
            row("its margin loss, first epoch -> last", "decreases",
                f"{history['margin'][0]:.4f} -> {history['margin'][-1]:.4f}", history["margin"][-1] < history["margin"][0])]


def run(plots: Path | None = None) -> list[dict]:
    history = train_digits()
    rows = mnist_counts_and_shapes() + digits_rows(history)
    if plots is not None:
        _plot_digits(Path(plots), history)
    return rows


def _plot_digits(folder: Path, history: dict) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    folder.mkdir(parents=True, exist_ok=True)
    labels = history["labels"]
    shown = [int((labels == k).nonzero()[0]) for k in range(10) if (labels == k).any()]  # the first test digit of each class
    nan = float("nan")  # blank separators
    strip = [torch.cat([torch.cat([im[k], torch.full((8, 1), nan, dtype=im.dtype)], 1) for k in shown], 1)
             for im in (history["images"], history["reconstructions"])]  # each (8, 9 * len(shown))
    montage = torch.cat([strip[0], torch.full((1, strip[0].shape[1]), nan, dtype=strip[0].dtype), strip[1]], 0)
    fig, axes = plt.subplots(1, 2, figsize=(13, 4), gridspec_kw={"width_ratios": [1, 2.2]})
    epochs = range(1, len(history["margin"]) + 1)
    axes[0].plot(epochs, history["margin"], "o-", label="margin loss")
    axes[0].plot(epochs, history["reconstruction"], "s-", label="0.0005 x reconstruction loss")
    axes[0].plot(epochs, [1 - a for a in history["accuracy"]], "^-", label="test error")
    axes[0].set(title="small CapsNet on digits 8x8: training", xlabel="epoch", ylabel="loss / error (log scale)",
                yscale="log")
    axes[0].legend(fontsize=8)
    image = axes[1].imshow(montage.numpy(), cmap="gray_r", vmin=0.0, vmax=1.0)
    guesses = " ".join(str(int(history["predicted"][k])) for k in shown)
    axes[1].set(title="test digits (top) and reconstructions from the predicted class's capsule (bottom)",
                xlabel=f"true class 0-9; predicted: {guesses}", ylabel="input / reconstruction", xticks=[], yticks=[])
    fig.colorbar(image, ax=axes[1], label="pixel intensity", shrink=0.8)
    fig.tight_layout()
    fig.savefig(folder / "a12_capsnet_digits.png", dpi=100)
    plt.close(fig)
