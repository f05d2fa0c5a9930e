"""Experiments of a07, reproduced with this package's own functions: a linear autoencoder finds the
principal subspace, a sparse autoencoder learns edge filters from natural-image patches, and a deep
belief network's pretraining gives its MLP a head start on digits.

``run(plots=None)`` returns one row per quantity: {"quantity", "published", "ours", "ok"}.
Run it on the reference (``grader reproduce a07``) or, once your functions work, on yours.
"""
from __future__ import annotations

import math
from pathlib import Path

import torch

from grader.experiments import digits_split, row, threads

from .autoencoder import ae_backward, ae_forward, reconstruction_loss, sparse_ae_loss
from .dbn import dbn_finetune_step, dbn_forward, dbn_pretrain, dbn_unroll
from .rbm import hidden_probs

F64 = torch.float64


# A linear autoencoder spans the principal subspace (Baldi and Hornik 1989).

def low_rank_data(n: int, d: int, spread: list[float], noise: float, g: torch.Generator) -> torch.Tensor:
    """n centred points in d dimensions: len(spread) directions with those standard deviations,
    ``noise`` in the others."""
    basis, _ = torch.linalg.qr(torch.randn(d, d, generator=g, dtype=F64))
    scale = torch.tensor(spread + [noise] * (d - len(spread)), dtype=F64)
    x = (torch.randn(n, d, generator=g, dtype=F64) * scale) @ basis.T  # (n, d)
    return x - x.mean(dim=0)


def train_linear_ae(x: torch.Tensor, h: int, steps: int, lr: float, g: torch.Generator) -> tuple:
    """Full-batch gradient descent on the squared error of a linear autoencoder with h hidden units."""
    d = x.shape[1]
    W1, W2 = torch.randn(d, h, generator=g, dtype=F64) * 0.1, torch.randn(h, d, generator=g, dtype=F64) * 0.1
    b1, b2 = torch.zeros(h, dtype=F64), torch.zeros(d, dtype=F64)
    for _ in range(steps):
        xhat, cache = ae_forward(x, W1, b1, W2, b2, hidden="linear", output="linear")
        loss, dxhat, _, _ = reconstruction_loss(xhat, x, W1, W2, 0.0)
        dW1, db1, dW2, db2 = ae_backward(dxhat, cache)
        W1, b1, W2, b2 = W1 - lr * dW1, b1 - lr * db1, W2 - lr * dW2, b2 - lr * db2
    return float(loss), W2


def linear_ae_vs_pca(h: int = 4, steps: int = 1500, seed: int = 0) -> list[dict]:
    from scipy.linalg import subspace_angles
    from sklearn.decomposition import PCA

    g = torch.Generator().manual_seed(seed)
    x = low_rank_data(500, 20, [3.0, 2.5, 2.0, 1.5], 0.3, g)
    loss, W2 = train_linear_ae(x, h, steps, 0.1, g)
    pca = PCA(h).fit(x.numpy())
    angle = float(math.degrees(max(subspace_angles(W2.T.numpy(), pca.components_.T))))  # decoder rows vs components
    pca_loss = 0.5 * float(((x.numpy() - pca.inverse_transform(pca.transform(x.numpy()))) ** 2).sum(1).mean())
    return [row(f"linear AE 20-{h}-20 vs PCA: largest principal angle (degrees)", "0 (Baldi & Hornik 1989)",
                round(angle, 4), angle < 1.0),
            row("linear AE vs PCA: reconstruction error, ours / PCA's", 1.0, round(loss / pca_loss, 5),
                abs(loss / pca_loss - 1.0) < 1e-3)]


# A sparse autoencoder on natural-image patches learns edges (UFLDL's exercise; Olshausen and Field 1996).

def whitened_images() -> list[torch.Tensor]:
    """scikit-learn's two sample photographs in grey, whitened in the Fourier domain as Olshausen and
    Field's images: amplitude times f exp(-(f / f0)^4), f0 = 0.2 cycles per pixel. Unit variance each."""
    from sklearn.datasets import load_sample_images

    out = []
    for image in load_sample_images().images:
        grey = torch.tensor(image, dtype=F64).mean(dim=2)  # (H, W)
        grey = (grey - grey.mean()) / grey.std()
        fy = torch.fft.fftfreq(grey.shape[0], dtype=F64)[:, None]
        fx = torch.fft.fftfreq(grey.shape[1], dtype=F64)[None, :]
        f = torch.sqrt(fx * fx + fy * fy)
        white = torch.fft.ifft2(torch.fft.fft2(grey) * f * torch.exp(-(f / 0.2) ** 4)).real
        out.append(white / white.std())
    return out


def sample_patches(images: list[torch.Tensor], n: int, size: int, g: torch.Generator) -> torch.Tensor:
    """n random size x size patches, normalised as UFLDL's: each patch's mean removed, clipped at
    3 standard deviations, rescaled to [0.1, 0.9] for the sigmoid output. Returns (n, size * size)."""
    patches = []
    for k in range(n):
        image = images[k % len(images)]
        r = int(torch.randint(0, image.shape[0] - size + 1, (1,), generator=g))
        c = int(torch.randint(0, image.shape[1] - size + 1, (1,), generator=g))
        patches.append(image[r:r + size, c:c + size].reshape(-1))
    x = torch.stack(patches)
    x = x - x.mean(dim=1, keepdim=True)
    limit = 3.0 * float(x.std())
    return (x.clamp(-limit, limit) / limit + 1.0) * 0.4 + 0.1


def train_sparse_ae(x: torch.Tensor, h: int, lam: float, rho: float, beta: float, iters: int,
                    g: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """UFLDL's recipe: L-BFGS on sparse_ae_loss from uniform weights in +-sqrt(6 / (D + H + 1)). Returns W1, b1."""
    import numpy as np
    from scipy.optimize import minimize

    d = x.shape[1]
    r = math.sqrt(6.0 / (d + h + 1))
    sizes = [(d, h), (h,), (h, d), (d,)]
    counts = [math.prod(s) for s in sizes]
    start = [(torch.rand(d, h, generator=g, dtype=F64) * 2 - 1) * r, torch.zeros(h, dtype=F64),
             (torch.rand(h, d, generator=g, dtype=F64) * 2 - 1) * r, torch.zeros(d, dtype=F64)]

    def unpack(theta):
        parts = torch.from_numpy(theta).split(counts)
        return [p.reshape(s) for p, s in zip(parts, sizes)]

    def cost(theta):
        loss, *grads = sparse_ae_loss(x, *unpack(theta), lam, rho, beta, output="sigmoid")
        return float(loss), np.concatenate([gr.reshape(-1).numpy() for gr in grads])

    theta0 = np.concatenate([p.reshape(-1).numpy() for p in start])
    result = minimize(cost, theta0, jac=True, method="L-BFGS-B", options={"maxiter": iters})
    W1, b1, _, _ = unpack(result.x)
    return W1, b1


def coherence(filters: torch.Tensor) -> torch.Tensor:
    """How much each filter varies along a single direction: (l1 - l2) / (l1 + l2) of the structure
    tensor of its finite-difference gradients. An edge or a grating gives near 1, isotropic noise about 0.5.
    filters: (K, S, S). Returns (K,)."""
    gy = filters[:, 1:, :-1] - filters[:, :-1, :-1]
    gx = filters[:, :-1, 1:] - filters[:, :-1, :-1]
    jxx, jyy, jxy = (gx * gx).sum((1, 2)), (gy * gy).sum((1, 2)), (gx * gy).sum((1, 2))
    return torch.sqrt((jxx - jyy) ** 2 + 4 * jxy * jxy) / (jxx + jyy)


def sparse_ae_patches(n: int = 5000, h: int = 25, iters: int = 400, rho: float = 0.01,
                      seed: int = 0) -> tuple[list[dict], torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    x = sample_patches(whitened_images(), n, 8, g)
    W1, b1 = train_sparse_ae(x, h, lam=1e-4, rho=rho, beta=3.0, iters=iters, g=g)
    activations = hidden_probs(x, W1, b1).mean(dim=0)  # (H,) each unit's mean activation
    mean = float(activations.mean())
    filters = W1.T.reshape(h, 8, 8)
    ours = float(coherence(filters).median())
    noise = float(coherence(torch.randn(1000, 8, 8, generator=g, dtype=F64)).median())
    return [row(f"sparse AE 64-{h}-64 on 8x8 patches: mean hidden activation", f"rho = {rho}", round(mean, 4),
                abs(mean - rho) < 0.5 * rho),
            row("sparse AE filters: median orientation coherence (edges near 1)", "edges (UFLDL; Olshausen & Field)",
                round(ours, 3), ours > 0.7 and ours > noise + 0.15),
            row("random 8x8 filters: median orientation coherence", "about 0.5 (no edges)", round(noise, 3),
                noise < 0.6)], filters, activations


# Deep belief network on digits: greedy pretraining, then fine-tuning (Hinton, Osindero and Teh 2006).

def finetune(params, data, epochs: int, lr: float, batch: int, seed: int) -> list[float]:
    """Minibatch fine-tuning with dbn_finetune_step; the test accuracy after each epoch."""
    x_tr, y_tr, x_te, y_te = data
    g = torch.Generator().manual_seed(seed)
    accuracy = []
    for _ in range(epochs):
        order = torch.randperm(len(x_tr), generator=g)
        for i in range(0, len(order), batch):
            idx = order[i:i + batch]
            _, params = dbn_finetune_step(x_tr[idx], y_tr[idx], params, lr)
        scores, _ = dbn_forward(x_te, params)
        accuracy.append(float((scores.argmax(dim=1) == y_te).to(F64).mean()))
    return accuracy


def dbn_digits(sizes=(64, 100, 100), pretrain_epochs: int = 10, epochs: int = 15, seed: int = 0):
    """The same 64-100-100-10 sigmoid network from the same small initial weights (N(0, 0.01^2), Hinton's
    guide), fine-tuned alike, once after greedy CD-1 pretraining of its two hidden layers and once without."""
    data = digits_split(test_size=0.3, seed=seed)  # pixels in [0, 1], stratified 70/30
    x_tr, x_te = data[0], data[2]
    g = torch.Generator().manual_seed(seed)
    init = [(torch.randn(a, b, generator=g, dtype=F64) * 0.01, torch.zeros(a, dtype=F64), torch.zeros(b, dtype=F64))
            for a, b in zip(sizes[:-1], sizes[1:])]
    W_out, b_out = torch.randn(sizes[-1], 10, generator=g, dtype=F64) * 0.01, torch.zeros(10, dtype=F64)
    noise = [torch.rand(pretrain_epochs, len(x_tr), b, generator=g, dtype=F64) for b in sizes[1:]]
    stack, errors = dbn_pretrain(x_tr, init, noise, lr=0.1, batch=20)

    composed = x_te
    for W, _, c in stack:
        composed = hidden_probs(composed, W, c)  # p(h|v) of each RBM in turn
    top, _ = dbn_forward(x_te, dbn_unroll(stack, torch.eye(sizes[-1], dtype=F64), torch.zeros(sizes[-1], dtype=F64)))
    gap = float((top - composed).abs().max())

    curves = {"pretrained": finetune(dbn_unroll(stack, W_out, b_out), data, epochs, 0.5, 20, seed),
              "random init": finetune(dbn_unroll(init, W_out, b_out), data, epochs, 0.5, 20, seed)}
    pre, rnd = curves["pretrained"][-1], curves["random init"][-1]
    rows = [row(f"DBN layer {l + 1}: reconstruction error, first -> last epoch of CD-1", "falls",
                f"{float(e[0]):.3f} -> {float(e[-1]):.3f}", bool((e[-1] < e[0]).item()))
            for l, e in enumerate(errors)]
    rows += [row("unrolled MLP's hidden layers vs stacked RBMs' p(h|v): max |difference|", 0.0, gap, gap < 1e-12),
             row(f"digits, {epochs} epochs of fine-tuning: pretrained DBN test accuracy", ">= 0.9", round(pre, 4),
                 pre >= 0.9),
             row(f"digits, {epochs} epochs of fine-tuning: same MLP from random init", "lower (Hinton et al. 2006)",
                 round(rnd, 4), rnd < pre - 0.05)]
    return rows, errors, curves


def run(plots: Path | None = None) -> list[dict]:
    with threads(1):
        rows = linear_ae_vs_pca()
        sparse_rows, filters, activations = sparse_ae_patches()
        dbn_rows, errors, curves = dbn_digits()
    if plots is not None:
        _plot(Path(plots), filters, activations, 0.01, errors, curves)
    return rows + sparse_rows + dbn_rows


def _plot(folder: Path, filters: torch.Tensor, activations: torch.Tensor, rho: float, errors: torch.Tensor,
          curves: dict[str, list[float]]) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    folder.mkdir(parents=True, exist_ok=True)
    k, s = filters.shape[0], filters.shape[1]
    cols = math.ceil(math.sqrt(k))
    rows = math.ceil(k / cols)
    mosaic = torch.full((rows * (s + 1) + 1, cols * (s + 1) + 1), float("nan"), dtype=F64)
    for i in range(k):
        r, c = divmod(i, cols)
        f = filters[i] / filters[i].abs().max()  # each filter scaled to [-1, 1]
        mosaic[1 + r * (s + 1):1 + r * (s + 1) + s, 1 + c * (s + 1):1 + c * (s + 1) + s] = f
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.4))
    image = axes[0].imshow(mosaic.numpy(), cmap="gray", vmin=-1, vmax=1)
    axes[0].set(title=f"sparse AE: {k} filters (columns of W1)", xticks=[], yticks=[])
    fig.colorbar(image, ax=axes[0], label="weight / largest |weight| of the filter")
    axes[1].bar(range(1, len(activations) + 1), activations.numpy(), label="mean activation on the patches")
    axes[1].axhline(rho, color="C3", ls="--", label=f"target rho = {rho}")
    axes[1].set(title="sparse AE: average activation of each hidden unit", xlabel="hidden unit",
                ylabel="mean activation", ylim=(0, 2.5 * max(rho, float(activations.max()))))
    axes[1].legend(loc="upper right")
    fig.tight_layout()
    fig.savefig(folder / "a07_sparse_ae_filters.png", dpi=100)
    plt.close(fig)

    fig, axes = plt.subplots(1, 2, figsize=(10, 3.8))
    for l, e in enumerate(errors):
        axes[0].plot(range(1, len(e) + 1), e.numpy(), "o-", label=f"RBM layer {l + 1}")
    axes[0].set(title="greedy pretraining: CD-1 reconstruction error", xlabel="epoch",
                ylabel="squared error per example")
    axes[0].legend()
    for name, curve in curves.items():
        axes[1].plot(range(1, len(curve) + 1), curve, "o-", label=name)
    axes[1].set(title="digits: fine-tuning the 64-100-100-10 net", xlabel="epoch of fine-tuning",
                ylabel="test accuracy", ylim=(0, 1))
    axes[1].legend()
    fig.tight_layout()
    fig.savefig(folder / "a07_dbn_finetuning.png", dpi=100)
    plt.close(fig)
