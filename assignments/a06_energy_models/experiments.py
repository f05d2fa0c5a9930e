"""Experiments of a06, reproduced with this package's own functions: Hopfield energy, recall and capacity;
RBM free energy, gradients and CD-k by enumeration, against scikit-learn's BernoulliRBM, RBM features on
digits; the collaborative-filtering RBM against the item-mean baseline.

``run(plots=None)`` returns one row per quantity: {"quantity", "published", "ours", "ok"}.
Run it on the reference (``grader reproduce a06``) or, once your functions work, on yours.
"""
from __future__ import annotations

import itertools
import math
from pathlib import Path

import torch

from grader.experiments import digits_split, row

from .cf_rbm import cf_cd1, cf_predict, one_hot_ratings
from .hopfield import flip, hopfield_async, hopfield_energy, hopfield_recall, hopfield_store, hopfield_sync
from .rbm import rbm_cd_k, rbm_free_energy, rbm_p_h_given_v, rbm_p_v_given_h, rbm_pcd, rbm_sample

F64 = torch.float64
AGS_CAPACITY = 0.138  # Amit, Gutfreund and Sompolinsky (1985): critical load P/N of Hebbian storage


def bipolar(g: torch.Generator, *shape: int) -> torch.Tensor:
    return torch.where(torch.rand(*shape, generator=g) < 0.5, -1.0, 1.0).to(F64)


# Hopfield networks.

def energy_descent(g: torch.Generator, u: int = 40, n: int = 200) -> tuple[float, bool]:
    """The largest energy change over single-unit asynchronous updates of random states, with random
    symmetric zero-diagonal weights and thresholds; and whether every state ends at a fixed point."""
    w = torch.randn(u, u, generator=g, dtype=F64)
    w = (w + w.T) / 2
    w.fill_diagonal_(0.0)
    theta = 0.3 * torch.randn(u, generator=g, dtype=F64)
    s = bipolar(g, n, u)
    worst = -math.inf
    for j in torch.randint(0, u, (20 * u,), generator=g).tolist():
        new = hopfield_async(w, s, theta, torch.tensor([j]))
        worst = max(worst, float((hopfield_energy(w, new, theta) - hopfield_energy(w, s, theta)).max()))
        s = new
    final, _ = hopfield_recall(w, s, theta, torch.randperm(u, generator=g), 100)
    return worst, bool(torch.equal(hopfield_async(w, final, theta, torch.arange(u)), final))


def recall_rate(u: int, p: int, noise: float, trials: int, g: torch.Generator) -> float:
    """Fraction of stored patterns recalled exactly from probes with ``noise`` of their units flipped."""
    hits = 0
    zero = torch.zeros(u, dtype=F64)
    for _ in range(trials):
        xi = bipolar(g, p, u)
        s, _ = hopfield_recall(hopfield_store(xi), flip(xi, noise, g), zero, torch.randperm(u, generator=g), 50)
        hits += int((s == xi).all(dim=1).sum())
    return hits / (p * trials)


def capacity_curve(g: torch.Generator, u: int = 200, noise: float = 0.1, trials: int = 3,
                   loads: tuple[float, ...] = (0.04, 0.07, 0.1, 0.12, 0.14, 0.16, 0.19, 0.22)) -> dict:
    rates = [recall_rate(u, max(1, round(a * u)), noise, trials, g) for a in loads]
    return {"load": list(loads), "recall": rates, "critical": crossing(list(loads), rates, 0.5)}


def crossing(xs: list[float], ys: list[float], level: float) -> float:
    """The first x where the piecewise-linear curve (xs, ys) falls to ``level`` (nan if it never does)."""
    for (x0, y0), (x1, y1) in zip(zip(xs, ys), zip(xs[1:], ys[1:])):
        if y0 >= level > y1:
            return x0 + (y0 - level) / (y0 - y1) * (x1 - x0)
    return math.nan


def glyph(side: int = 16) -> torch.Tensor:
    """A digit '3' drawn on a side x side grid of +1 (ink) / -1, flattened: (side * side,)."""
    from sklearn.datasets import load_digits

    d = load_digits()
    mean = torch.tensor(d.images[d.target == 3].mean(axis=0), dtype=F64)  # (8, 8)
    big = mean.repeat_interleave(side // 8, 0).repeat_interleave(side // 8, 1)  # (side, side)
    return torch.where(big > 6.0, 1.0, -1.0).to(F64).reshape(-1)


def recall_steps(g: torch.Generator, side: int = 16, others: int = 9, noise: float = 0.25, frames: int = 6) -> dict:
    """The glyph stored with ``others`` random patterns, recalled unit by unit from a noisy probe."""
    u = side * side
    target = glyph(side)
    w = hopfield_store(torch.cat([target[None], bipolar(g, others, u)]))
    theta = torch.zeros(u, dtype=F64)
    s = flip(target[None], noise, g)
    order = torch.randperm(u, generator=g)
    per = u // (frames - 2)
    states, updates, energy, curve = [s[0]], [0], [], [float(hopfield_energy(w, s, theta))]
    for t in range(u):
        s = hopfield_async(w, s, theta, order[t:t + 1])
        curve.append(float(hopfield_energy(w, s, theta)))
        if (t + 1) % per == 0 or t + 1 == u:
            states.append(s[0])
            updates.append(t + 1)
    final, _ = hopfield_recall(w, s, theta, order, 20)
    return {"states": torch.stack(states[:frames - 1] + [final[0]]).reshape(-1, side, side),
            "updates": updates[:frames - 1] + ["fixed point"], "energy": curve,
            "recalled": bool(torch.equal(final[0], target)),
            "monotone": all(b <= a + 1e-12 for a, b in zip(curve, curve[1:]))}


def synchronous_two_cycle() -> tuple[bool, bool]:
    """Two units joined by a negative weight, both +1: the synchronous update flips both forever (a
    2-cycle), the asynchronous one settles."""
    w = torch.tensor([[0.0, -1.0], [-1.0, 0.0]], dtype=F64)
    s, theta = torch.ones(1, 2, dtype=F64), torch.zeros(2, dtype=F64)
    once = hopfield_sync(w, s, theta)
    cycle = torch.equal(once, -s) and torch.equal(hopfield_sync(w, once, theta), s)
    settled = hopfield_async(w, s, theta, torch.tensor([0, 1]))
    return cycle, torch.equal(hopfield_async(w, settled, theta, torch.tensor([0, 1])), settled)


def hopfield_rows(g: torch.Generator) -> tuple[list[dict], dict, dict]:
    worst, fixed = energy_descent(g)
    xi = bipolar(g, 10, 200)
    stored = hopfield_recall(hopfield_store(xi), xi, torch.zeros(200, dtype=F64), torch.randperm(200, generator=g), 5)
    at_rest = bool(torch.equal(stored[0], xi)) and int(stored[1].sum()) == 0
    cap = capacity_curve(g)
    steps = recall_steps(g)
    cycle, settles = synchronous_two_cycle()
    rows = [row("Hopfield: largest energy change of one asynchronous update (random W, theta)", "<= 0",
                worst, worst <= 1e-12),
            row("Hopfield: asynchronous recall ends at a fixed point", True, fixed, fixed),
            row("Hopfield N=200, P=10 (load 0.05): stored patterns are fixed points", True, at_rest, at_rest),
            row("Hopfield N=200, 10% noise: recall rate at load 0.04", ">= 0.99", cap["recall"][0],
                cap["recall"][0] >= 0.99),
            row("Hopfield N=200, 10% noise: load where exact recall falls to 1/2 (AGS: collapse at 0.138 N)",
                f"~ {AGS_CAPACITY}", round(cap["critical"], 4), 0.11 <= cap["critical"] <= 0.17),
            row("Hopfield N=200, 10% noise: recall rate at load 0.22", "<= 0.1", cap["recall"][-1],
                cap["recall"][-1] <= 0.1),
            row("Hopfield 16x16 '3' + 9 random patterns, 25% noise: recalled, energy never rising", True,
                steps["recalled"] and steps["monotone"], steps["recalled"] and steps["monotone"]),
            row("Hopfield: synchronous update 2-cycle where asynchronous settles", True, cycle and settles,
                cycle and settles)]
    return rows, cap, steps


# RBMs by enumeration.

def states(n: int) -> torch.Tensor:
    """All 2^n binary vectors, (2^n, n) float64."""
    return torch.tensor(list(itertools.product([0.0, 1.0], repeat=n)), dtype=F64)


def energy(v: torch.Tensor, h: torch.Tensor, w: torch.Tensor, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """E(v, h) = -a.v - b.h - v^T W h for every pair: (V, Hs) for v (V, D) and h (Hs, H)."""
    return -(v @ a)[:, None] - (h @ b)[None, :] - v @ w @ h.T


def tiny_rbm(g: torch.Generator, d: int = 4, h: int = 3) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    return (torch.randn(d, h, generator=g, dtype=F64), 0.5 * torch.randn(d, generator=g, dtype=F64),
            0.5 * torch.randn(h, generator=g, dtype=F64))


def exact_gradient(pdata: torch.Tensor, w, a, b) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """d/d(W, a, b) of sum_v pdata(v) log p(v), by enumerating every (v, h): E_data - E_model."""
    v, h = states(w.shape[0]), states(w.shape[1])
    joint = torch.softmax(-energy(v, h, w, a, b).reshape(-1), 0).reshape(len(v), len(h))  # p(v, h)
    ph = rbm_p_h_given_v(v, w, b)  # (V, H)
    pos = (v * pdata[:, None]).T @ ph, pdata @ v, pdata @ ph
    neg = v.T @ joint @ h, joint.sum(1) @ v, joint.sum(0) @ h
    return tuple(p - q for p, q in zip(pos, neg))


def gibbs_transition(w, a, b) -> torch.Tensor:
    """T[v, v'] = sum_h p(h | v) p(v' | h): one Gibbs step v -> h -> v' over all visible states, (V, V)."""
    v, h = states(w.shape[0]), states(w.shape[1])
    ph = rbm_p_h_given_v(v, w, b)  # (V, H)
    p_h = (h[None] * ph[:, None] + (1 - h[None]) * (1 - ph[:, None])).prod(2)  # (V, Hs) p(h | v)
    pv = rbm_p_v_given_h(h, w, a)  # (Hs, D)
    p_v = (v[None] * pv[:, None] + (1 - v[None]) * (1 - pv[:, None])).prod(2)  # (Hs, V) p(v' | h)
    return p_h @ p_v


def expected_cd(pdata: torch.Tensor, k: int, w, a, b) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """The exact expectation of the CD-k gradient: the chain's k-step law pdata T^k in the negative term."""
    v = states(w.shape[0])
    ph = rbm_p_h_given_v(v, w, b)
    pk = pdata @ torch.linalg.matrix_power(gibbs_transition(w, a, b), k)  # (V,)
    return ((v * pdata[:, None]).T @ ph - (v * pk[:, None]).T @ ph, (pdata - pk) @ v, (pdata - pk) @ ph)


def gradient_gap(x: tuple, y: tuple) -> float:
    return math.sqrt(sum(float(((p - q) ** 2).sum()) for p, q in zip(x, y)))


def rbm_enumeration_rows(g: torch.Generator) -> list[dict]:
    w, a, b = tiny_rbm(g)
    v, h = states(4), states(3)
    enumerated = -torch.logsumexp(-energy(v, h, w, a, b), dim=1)
    fe = float((rbm_free_energy(v, w, a, b) - enumerated).abs().max())
    pdata = torch.rand(16, generator=g, dtype=F64) ** 3
    pdata = pdata / pdata.sum()
    exact = exact_gradient(pdata, w, a, b)
    gaps = {k: gradient_gap(expected_cd(pdata, k, w, a, b), exact) for k in (1, 3, 10, 100)}
    shrinks = all(gaps[p] > gaps[q] for p, q in zip(list(gaps), list(gaps)[1:]))
    # Monte Carlo: CD-1's negative term, averaged over many chains started from pdata, is its exact
    # expectation from the Gibbs transition matrix (the positive term has no chain randomness).
    n = 40_000
    v0 = v[torch.multinomial(pdata, n, replacement=True, generator=g)]
    sampled = rbm_cd_k(v0, w, a, b, torch.rand(1, n, 3, generator=g, dtype=F64),
                       torch.rand(1, n, 4, generator=g, dtype=F64))[:3]
    ph0 = rbm_p_h_given_v(v0, w, b)
    negative = tuple(p - s for p, s in zip((v0.T @ ph0 / n, v0.mean(0), ph0.mean(0)), sampled))
    ph = rbm_p_h_given_v(v, w, b)
    positive = ((v * pdata[:, None]).T @ ph, pdata @ v, pdata @ ph)
    exact_negative = tuple(p - e for p, e in zip(positive, expected_cd(pdata, 1, w, a, b)))
    mc = gradient_gap(negative, exact_negative)
    return [row("RBM 4x3: max |F(v) + log sum_h exp(-E(v, h))| over all 16 v", "0 (< 1e-12)", fe, fe < 1e-12),
            row("RBM 4x3: ||E[CD-k] - exact gradient||, k = 1, 3, 10, 100 (shrinks to 0)", "decreasing, -> 0",
                [f"{gaps[k]:.2e}" for k in gaps], shrinks and gaps[100] < 1e-6),
            row("RBM 4x3: CD-1 negative term over 40,000 chains vs Gibbs transition matrix", "< 0.02",
                round(mc, 5), mc < 0.02)]


def sklearn_rows(g: torch.Generator) -> list[dict]:
    """scikit-learn's BernoulliRBM with our weights (its components_ is W transposed)."""
    from sklearn.neural_network import BernoulliRBM

    d, h = 7, 5
    w, a, b = torch.randn(d, h, generator=g, dtype=F64), torch.randn(d, generator=g, dtype=F64), \
        torch.randn(h, generator=g, dtype=F64)
    v = torch.rand(11, d, generator=g, dtype=F64)
    hid = torch.rand(11, h, generator=g, dtype=F64)
    skl = BernoulliRBM(n_components=h)
    skl.components_, skl.intercept_visible_, skl.intercept_hidden_ = w.T.numpy(), a.numpy(), b.numpy()
    ph = float((rbm_p_h_given_v(v, w, b) - torch.from_numpy(skl.transform(v.numpy()))).abs().max())
    import numpy as np

    # its P(v | h) is only sampled: the same uniform draws must give the same visible states
    noise = np.random.RandomState(1).uniform(size=(11, d))
    theirs = torch.from_numpy(skl._sample_visibles(hid.numpy(), np.random.RandomState(1))).to(F64)
    pv = int((rbm_sample(rbm_p_v_given_h(hid, w, a), torch.from_numpy(noise)) != theirs).sum())
    fe = float((rbm_free_energy(v, w, a, b) - torch.from_numpy(skl._free_energy(v.numpy()))).abs().max())
    return [row("RBM vs sklearn BernoulliRBM.transform: max |p(h|v) diff|", "0 (< 1e-12)", ph, ph < 1e-12),
            row("RBM vs sklearn BernoulliRBM._sample_visibles, same uniform draws: visible states that differ",
                0, pv, pv == 0),
            row("RBM vs sklearn BernoulliRBM._free_energy: max |F(v) diff|", "0 (< 1e-12)", fe, fe < 1e-12)]


# RBM features on digits.

def digits() -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """scikit-learn's digits in [0, 1], split 80/20 stratified: x_train, y_train, x_test, y_test."""
    return digits_split(test_size=0.2, seed=0)


def train_rbm(x: torch.Tensor, hidden: int, epochs: int, g: torch.Generator, lr: float = 0.06,
              batch: int = 10, momentum: float = 0.5, persistent: bool = False) -> tuple[torch.Tensor, ...]:
    """Minibatch CD-1 (or PCD-1) with momentum, from small random weights and zero biases."""
    d = x.shape[1]
    w = 0.01 * torch.randn(d, hidden, generator=g, dtype=F64)
    a, b = torch.zeros(d, dtype=F64), torch.zeros(hidden, dtype=F64)
    velocity = [torch.zeros_like(w), torch.zeros_like(a), torch.zeros_like(b)]
    chains = torch.zeros(batch, d, dtype=F64)
    for _ in range(epochs):
        perm = torch.randperm(len(x), generator=g)
        for i in range(0, len(x), batch):
            v = x[perm[i:i + batch]]
            m = len(chains) if persistent else len(v)
            noise_h, noise_v = torch.rand(1, m, hidden, generator=g, dtype=F64), torch.rand(1, m, d, generator=g, dtype=F64)
            if persistent:
                *grads, chains = rbm_pcd(v, chains, w, a, b, noise_h, noise_v)
            else:
                *grads, _ = rbm_cd_k(v, w, a, b, noise_h, noise_v)
            velocity = [momentum * u + dg for u, dg in zip(velocity, grads)]
            w, a, b = w + lr * velocity[0], a + lr * velocity[1], b + lr * velocity[2]
    return w, a, b


def logistic_accuracy(f_train, y_train, f_test, y_test) -> float:
    """scikit-learn's LogisticRegression on standardised features: test accuracy."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.preprocessing import StandardScaler
    from threadpoolctl import threadpool_limits

    with threadpool_limits(1):  # a small problem: threads only contend
        scale = StandardScaler().fit(f_train.numpy())
        clf = LogisticRegression(C=1.0, max_iter=1000).fit(scale.transform(f_train.numpy()), y_train.numpy())
        return float(clf.score(scale.transform(f_test.numpy()), y_test.numpy()))


def gibbs_samples(w, a, b, start: torch.Tensor, steps: list[int], g: torch.Generator) -> torch.Tensor:
    """p(v | h) along Gibbs chains from ``start`` (R, D), at each of ``steps``: (R, len(steps), D)."""
    v, frames, t = start, [], 0
    for target in steps:
        while t < target:
            h = rbm_sample(rbm_p_h_given_v(v, w, b), torch.rand(len(v), w.shape[1], generator=g, dtype=F64))
            v = rbm_sample(rbm_p_v_given_h(h, w, a), torch.rand(len(v), w.shape[0], generator=g, dtype=F64))
            t += 1
        frames.append(start if target == 0 else rbm_p_v_given_h(h, w, a))
    return torch.stack(frames, dim=1)


def digits_rbm(g: torch.Generator, epochs: int = 15, hidden: int = 150) -> dict:
    x_tr, y_tr, x_te, y_te = digits()
    w, a, b = train_rbm(x_tr, hidden, epochs, g, lr=0.1)
    acc = logistic_accuracy(rbm_p_h_given_v(x_tr, w, b), y_tr, rbm_p_h_given_v(x_te, w, b), y_te)
    fe_train, fe_test = float(rbm_free_energy(x_tr, w, a, b).mean()), float(rbm_free_energy(x_te, w, a, b).mean())
    steps = [0, 1, 10, 100, 1000]
    return {"accuracy": acc, "pixels": logistic_accuracy(x_tr, y_tr, x_te, y_te), "filters": w.T,
            "samples": gibbs_samples(w, a, b, x_te[:8], steps, g), "steps": steps,
            "free_energy": (fe_train, fe_test)}


def digits_rows(result: dict) -> list[dict]:
    fe_tr, fe_te = result["free_energy"]
    return [row("RBM (150 hidden, CD-1, 15 epochs, lr 0.1) features + logistic regression, digits test accuracy",
                ">= 0.94", round(result["accuracy"], 4), result["accuracy"] >= 0.94),
            row("logistic regression on raw pixels, digits test accuracy (for comparison)", "reported",
                round(result["pixels"], 4), True),
            row("RBM digits: mean free energy, train / test (close: no overfitting)", "reported",
                [round(fe_tr, 2), round(fe_te, 2)], True)]


# The collaborative-filtering RBM.

def low_rank_ratings(g: torch.Generator, users: int = 500, items: int = 40, rank: int = 2, k: int = 5,
                     observed: float = 0.5, held_out: float = 0.2) -> dict:
    """Ratings 1..k = round(3 + item bias + u.q + noise); half observed, a fifth of those held out."""
    p, q = torch.randn(users, rank, generator=g, dtype=F64), torch.randn(items, rank, generator=g, dtype=F64)
    bias = 0.5 * torch.randn(items, generator=g, dtype=F64)
    r = (3 + bias + p @ q.T + 0.3 * torch.randn(users, items, generator=g, dtype=F64)).round().clamp(1, k).long()
    seen = torch.rand(users, items, generator=g) < observed
    test = seen & (torch.rand(users, items, generator=g) < held_out)
    train = seen & ~test
    return {"r": r, "train": train, "test": test, "v": one_hot_ratings(torch.where(train, r, 0), k), "k": k}


def rmse(pred: torch.Tensor, data: dict) -> float:
    return float(((pred - data["r"].to(F64))[data["test"]] ** 2).mean().sqrt())


def item_mean_baseline(data: dict) -> float:
    train = data["train"]
    mean = (data["r"] * train).sum(0) / train.sum(0).clamp(min=1)  # (M,) each item's mean training rating
    return rmse(mean.to(F64).expand_as(data["r"]), data)


def train_cf_rbm(data: dict, g: torch.Generator, hidden: int = 20, epochs: int = 15, lr: float = 0.1,
                 batch: int = 20, momentum: float = 0.9, decay: float = 1e-3, init: float = 0.1
                 ) -> tuple[dict, list[float]]:
    """CD-1 over minibatches of users, momentum and weight decay; visible biases start at the log
    frequencies of each item's ratings. Returns the parameters and the test RMSE after each epoch."""
    v, mask = data["v"], data["train"]
    users, items, k = v.shape
    w = init * torch.randn(items, k, hidden, generator=g, dtype=F64)
    counts = (v * mask[:, :, None]).sum(0) + 1.0  # (M, K)
    a, b = torch.log(counts / counts.sum(1, keepdim=True)), torch.zeros(hidden, dtype=F64)
    velocity = [torch.zeros_like(w), torch.zeros_like(a), torch.zeros_like(b)]
    curve = []
    for _ in range(epochs):
        perm = torch.randperm(users, generator=g)
        for i in range(0, users, batch):
            idx = perm[i:i + batch]
            dw, da, db, _ = cf_cd1(v[idx], mask[idx], w, a, b, torch.rand(len(idx), hidden, generator=g, dtype=F64),
                                   torch.rand(len(idx), items, generator=g, dtype=F64))
            velocity = [momentum * u + dg for u, dg in zip(velocity, (dw - decay * w, da, db))]
            w, a, b = w + lr * velocity[0], a + lr * velocity[1], b + lr * velocity[2]
        curve.append(rmse(cf_predict(v, mask, w, a, b), data))
    return {"w": w, "a": a, "b": b}, curve


def cf_rows(g: torch.Generator, epochs: int = 15) -> tuple[list[dict], dict]:
    data = low_rank_ratings(g)
    baseline = item_mean_baseline(data)
    _, curve = train_cf_rbm(data, g, epochs=epochs)
    return [row("item-mean baseline: test RMSE (synthetic rank-2 ratings, 500 users x 40 items)", "reported",
                round(baseline, 4), True),
            row("CF-RBM (20 hidden, CD-1): test RMSE, below the item-mean baseline", f"< {baseline:.4f}",
                round(curve[-1], 4), curve[-1] < baseline)], {"rmse": curve, "baseline": baseline}


def run(plots: Path | None = None) -> list[dict]:
    g = torch.Generator().manual_seed(0)
    hop, cap, steps = hopfield_rows(g)
    rows = hop + rbm_enumeration_rows(g) + sklearn_rows(g)
    result = digits_rbm(g)
    rows += digits_rows(result)
    cf, cf_curve = cf_rows(g)
    rows += cf
    if plots is not None:
        _plot(Path(plots), cap, steps, result, cf_curve)
    return rows


def tiles(images: torch.Tensor, rows: int, cols: int, side: int = 8, gap: float = float("nan")) -> torch.Tensor:
    """images (rows * cols, side * side) laid out as one (rows * (side + 1), cols * (side + 1)) picture."""
    out = torch.full((rows * (side + 1), cols * (side + 1)), gap, dtype=F64)
    for i, im in enumerate(images[:rows * cols]):
        r, c = divmod(i, cols)
        out[r * (side + 1):r * (side + 1) + side, c * (side + 1):c * (side + 1) + side] = im.reshape(side, side)
    return out


def _plot(folder: Path, cap: dict, steps: dict, digits_result: dict, cf: dict) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.colors import Normalize

    folder.mkdir(parents=True, exist_ok=True)
    fig, ax = plt.subplots(figsize=(6, 4))
    ax.plot(cap["load"], cap["recall"], "o-", label="recalled exactly (N = 200, 10% of bits flipped)")
    ax.axvline(AGS_CAPACITY, color="red", linestyle="--", label="Amit-Gutfreund-Sompolinsky 0.138")
    ax.set(title="Hopfield capacity: recall against load", xlabel="load P / N", ylabel="fraction of patterns recalled")
    ax.legend()
    fig.tight_layout()
    fig.savefig(folder / "a06_hopfield_capacity.png", dpi=100)
    plt.close(fig)

    frames = steps["states"]
    fig = plt.figure(figsize=(2.4 * len(frames), 6), layout="constrained")
    grid = fig.add_gridspec(2, len(frames), height_ratios=[1, 0.8])
    norm = Normalize(-1, 1)
    axes = [fig.add_subplot(grid[0, i]) for i in range(len(frames))]
    for ax, state, n in zip(axes, frames, steps["updates"]):
        image = ax.imshow(state.numpy(), cmap="gray_r", norm=norm)
        ax.set(title=f"after {n} updates" if isinstance(n, int) else str(n), xticks=[], yticks=[])
    fig.colorbar(image, ax=axes, label="unit state (-1 / +1)", shrink=0.8)
    curve = fig.add_subplot(grid[1, :])
    curve.plot(steps["energy"])
    curve.set(title="energy during recall", xlabel="single-unit updates", ylabel="E(s)")
    fig.suptitle("Hopfield recall of a noisy pattern, unit by unit")
    fig.savefig(folder / "a06_hopfield_recall.png", dpi=100)
    plt.close(fig)

    filters, samples = digits_result["filters"], digits_result["samples"]
    fig, axes = plt.subplots(1, 2, figsize=(12, 6))
    lim = float(filters.abs().max())
    image = axes[0].imshow(tiles(filters, 10, len(filters) // 10 or 1).numpy(), cmap="RdBu_r", vmin=-lim, vmax=lim)
    axes[0].set(title="RBM filters on digits (one 8x8 tile per hidden unit)", xticks=[], yticks=[])
    fig.colorbar(image, ax=axes[0], label="weight W[:, j]", shrink=0.8)
    r, c = samples.shape[:2]
    grid = tiles(samples.permute(1, 0, 2).reshape(r * c, -1), c, r)
    image = axes[1].imshow(grid.numpy(), cmap="gray_r", vmin=0, vmax=1)
    axes[1].set(title="Gibbs chains from test digits (one column each)", xticks=[],
                yticks=[4 + 9 * i for i in range(c)], yticklabels=[f"step {s}" for s in digits_result["steps"]])
    fig.colorbar(image, ax=axes[1], label="p(v = 1 | h)", shrink=0.8)
    fig.tight_layout()
    fig.savefig(folder / "a06_rbm_digits.png", dpi=100)
    plt.close(fig)

    fig, ax = plt.subplots(figsize=(6, 4))
    ax.plot(range(1, len(cf["rmse"]) + 1), cf["rmse"], label="CF-RBM (CD-1)")
    ax.axhline(cf["baseline"], color="gray", linestyle="--", label="item-mean baseline")
    ax.set(title="Collaborative-filtering RBM on rank-2 ratings", xlabel="epoch", ylabel="test RMSE")
    ax.legend()
    fig.tight_layout()
    fig.savefig(folder / "a06_cf_rbm.png", dpi=100)
    plt.close(fig)
