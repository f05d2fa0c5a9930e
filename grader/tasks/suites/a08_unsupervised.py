"""What a08 (competitive learning, inhibitory feedback, SOM, RBF) checks: inputs for each task, and how it runs.

Every task also checks that the function left its inputs unchanged. Sizes are distinct so a
wrong axis cannot pass; case 0 has a single input. Winners are never near ties (continuous random
data), MAXNET inputs have a clear maximum, Hamming-net patterns a unique nearest prototype, and
k-means cases include a centre that wins nothing.
"""
from __future__ import annotations

import torch

from grader.tasks.inputs import batch_size, distinct_dims, randint, randn, scalar, uniform
from grader.tasks.model import Suite

SUITE = Suite("a08_unsupervised", exact_outputs=True)  # each function returns exactly its results, no cache
F64 = torch.float64


def sheet(g: torch.Generator, case: int) -> torch.Tensor:
    """Map positions: a chain (K, 1) on even cases, a rows x cols sheet (K, 2) on odd ones."""
    if case % 2 == 0:
        return torch.arange(randint(g, 3, 9), dtype=F64)[:, None]
    rows, cols = distinct_dims(g, 2, 2, 4)
    r = torch.arange(rows, dtype=F64).repeat_interleave(cols)
    q = torch.arange(cols, dtype=F64).repeat(rows)
    return torch.stack([r, q], dim=1)


# Competitive learning.

def winner_inputs(g: torch.Generator, case: int) -> dict:
    n = batch_size(g, case, 9)
    k, d = distinct_dims(g, 2, 2, 6)
    return {"x": randn(g, n, d), "w": randn(g, k, d)}


def update_inputs(g: torch.Generator, case: int) -> dict:
    kw = winner_inputs(g, case)
    return {"x": kw["x"][0], "w": kw["w"], "lr": scalar(g, 0.05, 0.9)}


def epoch_inputs(g: torch.Generator, case: int) -> dict:
    n = 1 if case == 0 else randint(g, 8, 20)
    k, d = distinct_dims(g, 2, 2, 6)
    counts = torch.zeros(k, dtype=torch.int64) if case < 2 else torch.randint(0, 4, (k,), generator=g)
    lr = None if case < 3 else scalar(g, 0.05, 0.5)
    return {"x": randn(g, n, d), "w": randn(g, k, d), "counts": counts, "lr": lr}


def leaky_inputs(g: torch.Generator, case: int) -> dict:
    kw = update_inputs(g, case)
    kw["lr_win"] = kw.pop("lr")
    kw["lr_lose"] = scalar(g, 0.005, 0.04)
    return kw


SUITE.call("winner", "competitive", winner_inputs, ("c",))
SUITE.call("competitive_update", "competitive", update_inputs, ("w",), calls=("winner",))
SUITE.call("competitive_epoch", "competitive", epoch_inputs, ("w", "counts"), calls=("winner",))
SUITE.call("leaky_competitive_update", "competitive", leaky_inputs, ("w",), calls=("winner",))


# Inhibitory feedback networks.

def maxnet_step_inputs(g: torch.Generator, case: int) -> dict:
    n, m = distinct_dims(g, 2, 2, 7)
    n = 1 if case == 0 else n
    y = uniform(g, n, m, low=0.0, high=1.0)
    y = torch.where(uniform(g, n, m, low=0.0, high=1.0) < 0.2, 0.0, y)  # some units already silent
    return {"y": y, "eps": scalar(g, 0.1, 0.95) / m}


def maxnet_inputs(g: torch.Generator, case: int) -> dict:
    n, m = distinct_dims(g, 2, 2, 7)
    n = 1 if case == 0 else n
    y = uniform(g, n, m, low=0.0, high=1.0)
    top = y.argmax(dim=1)
    y[torch.arange(n), top] += 0.1  # a clear maximum: the two best differ by more than 0.1
    return {"y": y, "eps": scalar(g, 0.3, 0.95) / m}


def hamming_inputs(g: torch.Generator, case: int) -> dict:
    n_bits = randint(g, 8, 16)
    m = randint(g, 2, 5)
    while True:
        protos = torch.where(uniform(g, m, n_bits) < 0, -1.0, 1.0).to(F64)
        if len({tuple(p.tolist()) for p in protos}) == m:
            break
    n = batch_size(g, case, 8)
    source = torch.randint(0, m, (n,), generator=g)
    flips = uniform(g, n, n_bits, low=0.0, high=1.0) < 0.2
    x = torch.where(flips, -protos[source], protos[source])
    dist = (n_bits - x @ protos.T) / 2  # (n, m) Hamming distances
    tied = (dist == dist.min(dim=1, keepdim=True).values).sum(dim=1) > 1
    x[tied] = protos[source[tied]]  # a pattern with two nearest prototypes is replaced by its source
    return {"x": x, "prototypes": protos, "eps": scalar(g, 0.3, 0.95) / m}


def shunting_inputs(g: torch.Generator, case: int) -> dict:
    n, m = distinct_dims(g, 2, 2, 7)
    n = 1 if case == 0 else n
    B = scalar(g, 0.5, 3.0)
    return {"x": uniform(g, n, m, low=0.0, high=B), "inputs": uniform(g, n, m, low=0.0, high=2.0),
            "A": scalar(g, 0.2, 2.0), "B": B, "dt": scalar(g, 0.01, 0.1)}


def equilibrium_inputs(g: torch.Generator, case: int) -> dict:
    kw = shunting_inputs(g, case)
    return {"inputs": kw["inputs"], "A": kw["A"], "B": kw["B"]}


SUITE.call("maxnet_step", "inhibitory", maxnet_step_inputs)
SUITE.call("maxnet", "inhibitory", maxnet_inputs, ("y", "steps"), calls=("maxnet_step",))
SUITE.call("hamming_net", "inhibitory", hamming_inputs, ("scores", "c"), calls=("maxnet", "maxnet_step"))
SUITE.call("shunting_step", "inhibitory", shunting_inputs)
SUITE.call("shunting_equilibrium", "inhibitory", equilibrium_inputs)


# Kohonen's self-organizing map.

def neighbourhood_inputs(g: torch.Generator, case: int) -> dict:
    grid = sheet(g, case)
    k = grid.shape[0]
    n = 1 if case == 0 else randint(g, 2, 9)
    n = n + 1 if n == k else n
    return {"grid": grid, "c": torch.randint(0, k, (n,), generator=g), "sigma": scalar(g, 0.5, 3.0)}


def som_update_inputs(g: torch.Generator, case: int) -> dict:
    grid = sheet(g, case)
    d = randint(g, 2, 5)
    return {"x": randn(g, d), "w": randn(g, grid.shape[0], d), "grid": grid,
            "lr": scalar(g, 0.05, 0.9), "sigma": scalar(g, 0.5, 3.0)}


def som_train_inputs(g: torch.Generator, case: int) -> dict:
    grid = sheet(g, case)
    n, d = distinct_dims(g, 2, 2, 8)
    steps = 1 if case == 0 else randint(g, 10, 30)
    lr0, sigma0 = scalar(g, 0.3, 0.9), scalar(g, 1.5, 3.0)
    return {"x": randn(g, n, d), "w": randn(g, grid.shape[0], d), "grid": grid,
            "order": torch.randint(0, n, (steps,), generator=g),
            "lr": (lr0, lr0 / 10), "sigma": (sigma0, sigma0 / 4)}


def te_inputs(g: torch.Generator, case: int) -> dict:
    grid = sheet(g, case)
    if case in (2, 4):
        grid = torch.arange(case // 2 + 1, dtype=F64)[:, None]  # 2 or 3 units: only that many BMUs exist
    n, d = (1 if case == 0 else randint(g, 20, 40)), randint(g, 2, 4)
    w = randn(g, grid.shape[0], d)
    return {"x": randn(g, n, d), "w": w, "grid": grid}


SUITE.call("gaussian_neighbourhood", "som", neighbourhood_inputs, ("h",))
SUITE.call("som_update", "som", som_update_inputs, ("w",), calls=("winner", "gaussian_neighbourhood"))
SUITE.call("som_train", "som", som_train_inputs, ("w",), calls=("som_update", "winner", "gaussian_neighbourhood"))
SUITE.call("quantization_error", "som", winner_inputs, ("qe",))
SUITE.call("topographic_error", "som", te_inputs, ("te",))


# RBF networks.

def features_inputs(g: torch.Generator, case: int) -> dict:
    kw = winner_inputs(g, case)
    return {"x": kw["x"], "centres": kw["w"], "widths": uniform(g, kw["w"].shape[0], low=0.5, high=2.0)}


def kmeans_inputs(g: torch.Generator, case: int) -> dict:
    k, d = distinct_dims(g, 2, 2, 5)
    n = randint(g, 2 * k, 4 * k)
    centres = randn(g, k, d)
    if case % 2 == 1:
        centres[-1] = 50.0  # too far to win any input: it must stay where it is
    return {"x": randn(g, n, d), "centres": centres, "iters": [0, 1, 3, 6, 2, 5][case % 6]}


def widths_inputs(g: torch.Generator, case: int) -> dict:
    p = 1 + case % 3
    k, d = distinct_dims(g, 2, p + 1, 7)  # more centres than neighbours averaged
    return {"centres": randn(g, k, d), "p": p}


def lstsq_inputs(g: torch.Generator, case: int) -> dict:
    k, c = distinct_dims(g, 2, 2, 6)
    n = k if case == 0 else k + randint(g, 2, 8)  # case 0: square, interpolation
    phi = uniform(g, n, k, low=0.05, high=1.0)
    return {"phi": phi, "y": randn(g, n, c)}


def delta_inputs(g: torch.Generator, case: int) -> dict:
    kw = lstsq_inputs(g, case)
    k, c = kw["phi"].shape[1], kw["y"].shape[1]
    kw.update(w=randn(g, k, c, scale=0.5), lr=scalar(g, 0.05, 0.5))
    return kw


SUITE.call("rbf_features", "rbf", features_inputs, ("phi",))
SUITE.call("kmeans", "rbf", kmeans_inputs, ("centres", "labels"), calls=("winner",))
SUITE.call("nearest_neighbour_widths", "rbf", widths_inputs, ("widths",))
SUITE.call("rbf_least_squares", "rbf", lstsq_inputs, ("w",))
SUITE.call("rbf_delta_epoch", "rbf", delta_inputs, ("w",))
