"""Experiments of a08, reproduced with this package's own functions: competitive learning,
inhibitory feedback, Kohonen maps and RBF networks, against their known behaviour and scikit-learn/scipy.

``run(plots=None)`` returns one row per quantity: {"quantity", "published", "ours", "ok"}.
Run it on the reference (``grader reproduce a08``) or, once your functions work, on yours.
"""
from __future__ import annotations

import math
from pathlib import Path

import torch

from grader.experiments import row

from .competitive import competitive_epoch, competitive_update, distortion, leaky_competitive_update, winner
from .inhibitory import hamming_net, maxnet, shunting_equilibrium, shunting_step
from .rbf import kmeans, nearest_neighbour_widths, rbf_delta_epoch, rbf_features, rbf_least_squares
from .som import decay, grid_positions, quantization_error, som_train, som_update, topographic_error, u_matrix

F64 = torch.float64


def iris() -> tuple[torch.Tensor, torch.Tensor]:
    """scikit-learn's iris, each feature standardised: (150, 4) float64 and (150,) int64 labels."""
    from sklearn.datasets import load_iris

    data = load_iris()
    x = torch.tensor(data.data, dtype=F64)
    return (x - x.mean(0)) / x.std(0), torch.tensor(data.target)


def blobs(n: int, centres: list[list[float]], spread: float, g: torch.Generator) -> torch.Tensor:
    """n points around each centre, Gaussian with std ``spread``: (n * len(centres), D)."""
    c = torch.tensor(centres, dtype=F64)
    return (c[:, None, :] + spread * torch.randn(len(centres), n, c.shape[1], generator=g, dtype=F64)).reshape(-1, c.shape[1])


def running_mean_identity(x: torch.Tensor, k: int, epochs: int, g: torch.Generator) -> float:
    """With lr = 1/count each prototype is the mean of every point it has won: the largest deviation."""
    w = x[torch.randperm(len(x), generator=g)[:k]].clone()
    counts = torch.zeros(k, dtype=torch.int64)
    sums, wins = torch.zeros_like(w), torch.zeros(k, dtype=F64)
    for _ in range(epochs):
        for n in torch.randperm(len(x), generator=g).tolist():
            w, new_counts = competitive_epoch(x[n:n + 1], w, counts)
            c = int((new_counts - counts).argmax())
            counts = new_counts
            sums[c] += x[n]
            wins[c] += 1
    won = wins > 0
    return float((w[won] - sums[won] / wins[won][:, None]).abs().max())


def competitive_vs_kmeans(x: torch.Tensor, k: int, epochs: int, g: torch.Generator) -> tuple[float, float]:
    """Online competitive learning (lr = 1/count, shuffled epochs) from a k-means++ start, against
    the inertia of scikit-learn's KMeans (best of 10 k-means++ starts)."""
    from sklearn.cluster import KMeans, kmeans_plusplus

    w = torch.tensor(kmeans_plusplus(x.numpy(), k, random_state=0)[0], dtype=F64)
    counts = torch.zeros(k, dtype=torch.int64)
    for _ in range(epochs):
        w, counts = competitive_epoch(x[torch.randperm(len(x), generator=g)], w, counts)
    km = KMeans(n_clusters=k, n_init=10, random_state=0).fit(x.numpy())
    return float(distortion(x, w)), float(km.inertia_)


def dead_units(epochs: int = 20, seed: int = 0) -> tuple[int, int]:
    """Four units, one started far from the data: plain learning leaves it dead, leaky learning revives it."""
    g = torch.Generator().manual_seed(seed)
    x = blobs(50, [[0.0, 0.0], [1.0, 0.0], [0.0, 1.0], [1.0, 1.0]], 0.1, g)
    w0 = torch.cat([x[torch.randperm(len(x), generator=g)[:3]], torch.tensor([[6.0, 6.0]], dtype=F64)])
    plain, leaky = w0.clone(), w0.clone()
    for _ in range(epochs):
        for n in torch.randperm(len(x), generator=g).tolist():
            plain = competitive_update(x[n], plain, 0.05)
            leaky = leaky_competitive_update(x[n], leaky, 0.05, 0.005)

    def dead(w: torch.Tensor) -> int:
        return int((torch.bincount(winner(x, w), minlength=len(w)) == 0).sum())
    return dead(plain), dead(leaky)


def competitive(g: torch.Generator) -> list[dict]:
    x, _ = iris()
    dev = running_mean_identity(x, 3, 3, g)
    rows = [row("competitive: |prototype - mean of the points it won|, lr = 1/count", "0 (exact identity)",
                dev, dev < 1e-12)]
    for name, data, k in (("iris, K=3", x, 3),
                          ("blobs, K=5", blobs(100, [[0, 0], [4, 0], [0, 4], [4, 4], [2, 2]], 0.7, g), 5)):
        ours, km = competitive_vs_kmeans(data, k, 10, g)
        rows.append(row(f"competitive ({name}): distortion / KMeans inertia", "<= 1.10", round(ours / km, 4),
                        ours / km <= 1.10))
    plain, leaky = dead_units()
    rows.append(row("competitive: dead units, plain winner-take-all", ">= 1 (the far unit never wins)", plain, plain >= 1))
    rows.append(row("competitive: dead units, leaky learning", 0, leaky, leaky == 0))
    return rows


def inhibitory(g: torch.Generator) -> list[dict]:
    m = 8
    y0 = torch.rand(500, m, generator=g, dtype=F64)
    y, steps = maxnet(y0, eps=1.0 / (2 * m))
    survivors = (y > 0).sum(1)
    agree = float(((y.argmax(1) == y0.argmax(1)) & (survivors == 1)).to(F64).mean())
    rows = [row("MAXNET (M=8, eps=1/2M): one survivor, the argmax", 1.0, agree, agree == 1.0),
            row("MAXNET: mean steps to converge", "reported", round(float(steps.to(F64).mean()), 2), True)]

    bits, n_proto = 32, 6
    protos = torch.where(torch.rand(n_proto, bits, generator=g) < 0.5, -1.0, 1.0).to(F64)
    source = torch.randint(0, n_proto, (400,), generator=g)
    flips = torch.rand(400, bits, generator=g).argsort(1)[:, :5]  # 5 distinct bits flipped per pattern
    x = protos[source].clone()
    x.scatter_(1, flips, -x.gather(1, flips))
    _, c = hamming_net(x, protos, eps=1.0 / (2 * n_proto))
    dist = (bits - x @ protos.T) / 2  # (N, M) Hamming distances
    best = dist.min(1, keepdim=True).values
    unique = (dist == best).sum(1) == 1
    agree = float((c[unique] == dist.argmin(1)[unique]).to(F64).mean())
    rows.append(row("Hamming net (32 bits, 6 prototypes, 5 bits flipped): = nearest by Hamming distance",
                    1.0, agree, agree == 1.0))
    recall = float((c == source).to(F64).mean())
    rows.append(row("Hamming net: noisy patterns recalled to their source", ">= 0.99", recall, recall >= 0.99))

    inputs = 2.0 * torch.rand(100, m, generator=g, dtype=F64)
    A, B, dt = 1.0, 1.0, 0.01
    xs = torch.zeros_like(inputs)
    for _ in range(2000):
        xs = shunting_step(xs, inputs, A, B, dt)
    err = float((xs - shunting_equilibrium(inputs, A, B)).abs().max())
    rows.append(row("shunting network: Euler steady state - B I_i / (A + sum I)", "0 (< 1e-9)", err, err < 1e-9))
    total = float(xs.sum(1).max())
    rows.append(row("shunting network: total activity stays below B", f"< {B}", round(total, 6), total < B))
    return rows


def som_chain(g: torch.Generator, units: int = 20, steps: int = 4000) -> tuple[torch.Tensor, bool]:
    """A 1-D chain of units trained on uniform [0, 1]: its prototypes end monotonically ordered."""
    x = torch.rand(1000, 1, generator=g, dtype=F64)
    w0 = torch.rand(units, 1, generator=g, dtype=F64)
    grid = torch.arange(units, dtype=F64)[:, None]
    w = som_train(x, w0, grid, torch.randint(0, len(x), (steps,), generator=g), (0.5, 0.01), (units / 2, 0.5))
    d = w[1:, 0] - w[:-1, 0]
    return w[:, 0], bool((d > 0).all() or (d < 0).all())


def som_iris(g: torch.Generator, side: int = 10, steps: int = 6000) -> tuple[torch.Tensor, float, float]:
    x, _ = iris()
    grid = grid_positions(side, side)
    w0 = x[torch.randint(0, len(x), (side * side,), generator=g)] + 0.1 * torch.randn(side * side, 4, generator=g, dtype=F64)
    w = som_train(x, w0, grid, torch.randint(0, len(x), (steps,), generator=g), (0.5, 0.02), (side / 2, 1.0))
    return w, float(quantization_error(x, w)), float(topographic_error(x, w, grid))


def som_sigma_zero(g: torch.Generator, steps: int = 500) -> float:
    """With sigma -> 0 the SOM step is the competitive step: the largest difference over a run."""
    x, _ = iris()
    grid = grid_positions(3, 3)
    w0 = x[torch.randperm(len(x), generator=g)[:9]].clone()
    order = torch.randint(0, len(x), (steps,), generator=g)
    som, cl = w0.clone(), w0.clone()
    for t, n in enumerate(order.tolist()):
        lr = decay(0.5, 0.01, t, steps)
        som = som_update(x[n], som, grid, lr, 1e-3)
        cl = competitive_update(x[n], cl, lr)
    return float((som - cl).abs().max())


def som(g: torch.Generator) -> tuple[list[dict], dict]:
    chain, ordered = som_chain(g)
    w, qe, te = som_iris(g)
    diff = som_sigma_zero(g)
    rows = [row("SOM 1-D chain (20 units) on uniform [0,1]: prototypes monotonic", True, ordered, ordered),
            row("SOM iris 10x10: quantization error (standardised features)", "reported", round(qe, 4), True),
            row("SOM iris 10x10: topographic error", "< 0.1", round(te, 4), te < 0.1),
            row("SOM with sigma -> 0 = competitive learning: max |difference|", 0.0, diff, diff == 0.0)]
    return rows, {"chain": chain, "iris_w": w}


def rbf_interpolation(g: torch.Generator, n: int = 40, sigma: float = 0.2) -> tuple[float, float]:
    """Centres at the data points: exact interpolation, and scipy's Gaussian RBFInterpolator."""
    from scipy.interpolate import RBFInterpolator

    x = torch.rand(n, 2, generator=g, dtype=F64)
    y = torch.sin(3 * x[:, :1]) * torch.cos(2 * x[:, 1:])  # (n, 1)
    widths = torch.full((n,), sigma, dtype=F64)
    w = rbf_least_squares(rbf_features(x, x, widths), y)
    residual = float((rbf_features(x, x, widths) @ w - y).abs().max())
    xt = torch.rand(300, 2, generator=g, dtype=F64)
    ours = rbf_features(xt, x, widths) @ w
    scipy = RBFInterpolator(x.numpy(), y.numpy(), kernel="gaussian", epsilon=1 / (math.sqrt(2) * sigma),
                            degree=-1)(xt.numpy())
    return residual, float((ours - torch.from_numpy(scipy)).abs().max())


def rbf_xor() -> tuple[float, list[int]]:
    """XOR: the best linear fit on the inputs outputs 0.5 everywhere (mean squared error 0.25);
    on the outputs of two Gaussian units it classifies all four points."""
    x = torch.tensor([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]], dtype=F64)
    t = torch.tensor([[0.0], [1.0], [1.0], [0.0]], dtype=F64)
    ones = torch.ones(4, 1, dtype=F64)
    linear = torch.cat([x, ones], 1) @ rbf_least_squares(torch.cat([x, ones], 1), t)
    phi = rbf_features(x, x[[0, 3]], torch.full((2,), 1 / math.sqrt(2), dtype=F64))  # Haykin's centres (0,0), (1,1)
    hidden = torch.cat([phi, ones], 1) @ rbf_least_squares(torch.cat([phi, ones], 1), t)
    return float(((linear - t) ** 2).mean()), [int(v > 0.5) for v in hidden.view(-1)]


def rbf_iris(g: torch.Generator, k: int = 12, epochs: int = 200, lr: float = 0.05) -> tuple[float, float]:
    """k-means centres, nearest-neighbour widths, output weights by least squares and by the delta rule."""
    from sklearn.model_selection import train_test_split

    x, y = iris()
    tr, te = train_test_split(torch.arange(len(x)).numpy(), test_size=0.3, stratify=y.numpy(), random_state=0)
    tr, te = torch.from_numpy(tr), torch.from_numpy(te)
    centres, _ = kmeans(x[tr], x[tr][torch.randperm(len(tr), generator=g)[:k]], 20)
    widths = nearest_neighbour_widths(centres, 2)

    def design(v: torch.Tensor) -> torch.Tensor:
        return torch.cat([rbf_features(v, centres, widths), torch.ones(len(v), 1, dtype=F64)], 1)  # (N, K+1)

    targets = torch.nn.functional.one_hot(y[tr], 3).to(F64)
    w_ls = rbf_least_squares(design(x[tr]), targets)
    w_delta = torch.zeros(k + 1, 3, dtype=F64)
    for _ in range(epochs):
        perm = torch.randperm(len(tr), generator=g)
        w_delta = rbf_delta_epoch(design(x[tr][perm]), targets[perm], w_delta, lr)

    def accuracy(w: torch.Tensor) -> float:
        return float(((design(x[te]) @ w).argmax(1) == y[te]).to(F64).mean())
    return accuracy(w_ls), accuracy(w_delta)


def rbf(g: torch.Generator) -> list[dict]:
    residual, vs_scipy = rbf_interpolation(g)
    linear, hidden = rbf_xor()
    acc_ls, acc_delta = rbf_iris(g)
    return [row("RBF, centres at the data: max |interpolation residual|", "0 (< 1e-8)", residual, residual < 1e-8),
            row("RBF vs scipy RBFInterpolator(kernel='gaussian', epsilon=1/(sqrt(2) sigma)): max |diff|",
                "0 (< 1e-6)", vs_scipy, vs_scipy < 1e-6),
            row("XOR, linear least squares on the inputs: mean squared error", "0.25 (not separable)",
                round(linear, 12), abs(linear - 0.25) < 1e-12),
            row("XOR, linear least squares on 2 Gaussian units: predictions", [0, 1, 1, 0], hidden, hidden == [0, 1, 1, 0]),
            row("RBF iris (12 k-means centres, least squares): test accuracy", ">= 0.93", round(acc_ls, 4), acc_ls >= 0.93),
            row("RBF iris (12 k-means centres, delta rule): test accuracy", ">= 0.93", round(acc_delta, 4), acc_delta >= 0.93)]


def run(plots: Path | None = None) -> list[dict]:
    g = torch.Generator().manual_seed(0)
    rows = competitive(g) + inhibitory(g)
    som_rows, maps = som(g)
    rows += som_rows + rbf(g)
    if plots is not None:
        _plot_maps(Path(plots), maps["chain"], maps["iris_w"])
    return rows


def _plot_maps(folder: Path, chain: torch.Tensor, iris_w: torch.Tensor) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    folder.mkdir(parents=True, exist_ok=True)
    fig, axes = plt.subplots(1, 2, figsize=(9, 4))
    axes[0].plot(chain.numpy(), "o-")
    axes[0].set(title="SOM chain on uniform [0, 1]", xlabel="unit", ylabel="prototype")
    image = axes[1].imshow(u_matrix(iris_w, 10, 10).numpy(), cmap="bone_r")
    axes[1].set(title="SOM on iris: U-matrix (10 x 10)", xlabel="map column", ylabel="map row")
    fig.colorbar(image, ax=axes[1], label="mean prototype distance to neighbours")
    fig.tight_layout()
    fig.savefig(folder / "a08_som.png", dpi=100)
    plt.close(fig)
