"""What a06 (Hopfield networks, RBMs, the collaborative-filtering RBM) checks: inputs for each task, and how it runs.

Every task also checks that the function left its inputs unchanged. Sizes are distinct (patterns,
units and states; visible, hidden and batch; items, ratings and hidden) so a wrong axis cannot pass;
case 0 has a single state, example or user. Hopfield cases alternate integer Hebbian weights with
zero thresholds, where some local fields are exactly 0 (the unit keeps its state), and continuous
weights and thresholds. Uniform noise stays at least 1e-3 away from the probability or cumulative
probability it is compared with. Tasks that exponentiate (sigmoid, softplus, softmax) have net inputs
spanning +-1e3 in case ``LARGE_CASE``. The CF-RBM's unrated items hold one-hot junk, so an
implementation that does not apply the mask fails.
"""
from __future__ import annotations

import torch

from grader.tasks.inputs import LARGE, LARGE_CASE, batch_size, bipolar, distinct_dims, randint, randn, uniform
from grader.tasks.model import Suite

SUITE = Suite("a06_energy_models", exact_outputs=True)  # each function returns exactly its results
F64 = torch.float64


def stretch(x: torch.Tensor) -> float:
    """The factor, of either sign, that brings x's entry of largest magnitude to +LARGE: an exp that
    overflows at +1e3 must meet it, whatever the signs drawn."""
    flat = x.reshape(-1)
    return LARGE / float(flat[flat.abs().argmax()])


def away(g: torch.Generator, p: torch.Tensor, margin: float = 1e-3) -> torch.Tensor:
    """Uniform noise shaped like ``p`` with no value within ``margin`` of ``p``: no comparison near a tie."""
    u = torch.rand(p.shape, generator=g, dtype=F64)
    close = (u - p).abs() < margin
    return torch.where(close, (p + 2 * margin) % 1.0, u)


# Hopfield networks.

def hebbian_or_random(g: torch.Generator, case: int, u: int) -> tuple[torch.Tensor, torch.Tensor]:
    """(w, theta): integer Hebbian weights of two patterns and zero thresholds (exact zero fields) on
    even cases, symmetric normal weights and normal thresholds on odd ones."""
    if case % 2 == 0:
        p = bipolar(g, 2, u)
        w = p.T @ p
        w.fill_diagonal_(0.0)
        return w, torch.zeros(u, dtype=F64)
    w = randn(g, u, u)
    w = (w + w.T) / 2
    w.fill_diagonal_(0.0)
    return w, randn(g, u, scale=0.5)


def store_inputs(g: torch.Generator, case: int) -> dict:
    p, u = distinct_dims(g, 2, 2, 9)
    return {"patterns": bipolar(g, 1 if case == 0 else p, u)}


def energy_inputs(g: torch.Generator, case: int) -> dict:
    u, n = randint(g, 3, 9), batch_size(g, case, 8)
    n = n + 1 if n == u else n
    w, theta = hebbian_or_random(g, case + 1, u)  # continuous weights on case 0
    return {"w": w, "s": bipolar(g, n, u), "theta": theta}


def async_inputs(g: torch.Generator, case: int) -> dict:
    u, n = randint(g, 4, 9), batch_size(g, case)
    w, theta = hebbian_or_random(g, case, u)
    order = torch.randint(0, u, (randint(g, u, 2 * u),), generator=g)  # units may repeat
    return {"w": w, "s": bipolar(g, n, u), "theta": theta, "order": order}


def sync_inputs(g: torch.Generator, case: int) -> dict:
    kw = async_inputs(g, case)
    del kw["order"]
    return kw


def recall_inputs(g: torch.Generator, case: int) -> dict:
    """States near and far from the stored patterns, so rows settle after different numbers of sweeps;
    case 0 and case 3 stop at a cap of 1 and 2 sweeps."""
    u = randint(g, 8, 14)
    n = 1 if case == 0 else randint(g, 4, 7)
    w, theta = hebbian_or_random(g, case, u)
    s = bipolar(g, n, u)
    order = torch.randperm(u, generator=g)
    if case == 2:
        order = torch.cat([order, order[:3]])  # a sweep need not be a permutation
    return {"w": w, "s": s, "theta": theta, "order": order, "max_sweeps": {0: 1, 3: 2}.get(case, 20)}


SUITE.call("hopfield_store", "hopfield", store_inputs, ("w",))
SUITE.call("hopfield_energy", "hopfield", energy_inputs, ("e",))
SUITE.call("hopfield_async", "hopfield", async_inputs, ("s",))
SUITE.call("hopfield_sync", "hopfield", sync_inputs, ("s",))
SUITE.call("hopfield_recall", "hopfield", recall_inputs, ("s", "sweeps"), calls=("hopfield_async",))


# The binary RBM.

def rbm_sizes(g: torch.Generator, case: int) -> tuple[int, int, int]:
    """(N, D, H), all different."""
    d, h, n = distinct_dims(g, 3, 2, 8)
    return (1 if case == 0 else n), d, h


def visible(g: torch.Generator, n: int, d: int, case: int) -> torch.Tensor:
    """Binary data on even cases, grey values in [0, 1] on odd ones."""
    u = uniform(g, n, d, low=0.0, high=1.0)
    return (u < 0.5).to(F64) if case % 2 == 0 else u


def p_h_inputs(g: torch.Generator, case: int) -> dict:
    n, d, h = rbm_sizes(g, case)
    kw = {"v": visible(g, n, d, case), "w": randn(g, d, h), "b": randn(g, h)}
    if case == LARGE_CASE:
        kw["w"] = kw["w"] * stretch(kw["v"] @ kw["w"] + kw["b"])
    return kw


def p_v_inputs(g: torch.Generator, case: int) -> dict:
    n, d, h = rbm_sizes(g, case)
    kw = {"h": visible(g, n, h, case), "w": randn(g, d, h), "a": randn(g, d)}
    if case == LARGE_CASE:
        kw["w"] = kw["w"] * stretch(kw["h"] @ kw["w"].T + kw["a"])
    return kw


def sample_inputs(g: torch.Generator, case: int) -> dict:
    n, d, h = rbm_sizes(g, case)
    p = uniform(g, n, d, h, low=0.0, high=1.0) if case % 2 else uniform(g, n, d, low=0.0, high=1.0)
    return {"p": p, "noise": away(g, p)}


def free_energy_inputs(g: torch.Generator, case: int) -> dict:
    n, d, h = rbm_sizes(g, case)
    kw = {"v": visible(g, n, d, case), "w": randn(g, d, h), "a": randn(g, d), "b": randn(g, h)}
    if case == LARGE_CASE:
        kw["w"] = kw["w"] * stretch(kw["v"] @ kw["w"] + kw["b"])
    return kw


def cd_inputs(g: torch.Generator, case: int) -> dict:
    n, d, h = rbm_sizes(g, case)
    k = 1 if case < 2 else randint(g, 2, 4)
    return {"v0": visible(g, n, d, case), "w": randn(g, d, h), "a": randn(g, d, scale=0.5),
            "b": randn(g, h, scale=0.5), "noise_h": uniform(g, k, n, h, low=0.0, high=1.0),
            "noise_v": uniform(g, k, n, d, low=0.0, high=1.0)}


def pcd_inputs(g: torch.Generator, case: int) -> dict:
    kw = cd_inputs(g, case)
    k, n, h = kw["noise_h"].shape
    d = kw["w"].shape[0]
    m = n + randint(g, 1, 3)  # more chains than examples: a mean over the wrong batch fails
    kw.update(chains=(uniform(g, m, d, low=0.0, high=1.0) < 0.5).to(F64),
              noise_h=uniform(g, k, m, h, low=0.0, high=1.0), noise_v=uniform(g, k, m, d, low=0.0, high=1.0))
    return kw


RBM_STEPS = ("rbm_p_h_given_v", "rbm_p_v_given_h", "rbm_sample")
SUITE.call("rbm_p_h_given_v", "rbm", p_h_inputs, ("p",))
SUITE.call("rbm_p_v_given_h", "rbm", p_v_inputs, ("p",))
SUITE.call("rbm_sample", "rbm", sample_inputs, ("s",))
SUITE.call("rbm_free_energy", "rbm", free_energy_inputs, ("f",))
SUITE.call("rbm_cd_k", "rbm", cd_inputs, ("dw", "da", "db", "vk"), calls=RBM_STEPS)
SUITE.call("rbm_pcd", "rbm", pcd_inputs, ("dw", "da", "db", "chains"), calls=RBM_STEPS)


# The collaborative-filtering RBM.

def cf_sizes(g: torch.Generator, case: int) -> tuple[int, int, int, int]:
    """(N, M, K, F), all different; K (ratings) in 2..5."""
    k = randint(g, 2, 5)
    m, f, n = distinct_dims(g, 3, k + 1, k + 7)
    return (1 if case == 0 else n), m, k, f


def ratings(g: torch.Generator, n: int, m: int, k: int) -> tuple[torch.Tensor, torch.Tensor]:
    """(v, mask): a one-hot rating for every item, rated or not, and about 60% of items rated; every
    user has rated item 0 and left one other item unrated."""
    r = torch.randint(0, k, (n, m), generator=g)
    v = (r[:, :, None] == torch.arange(k)).to(F64)  # (N, M, K)
    mask = uniform(g, n, m, low=0.0, high=1.0) < 0.6
    mask[:, 0] = True
    mask[torch.arange(n), torch.randint(1, m, (n,), generator=g)] = False
    return v, mask


def cf_params(g: torch.Generator, m: int, k: int, f: int) -> dict:
    return {"w": randn(g, m, k, f), "a": randn(g, m, k, scale=0.5), "b": randn(g, f, scale=0.5)}


def cf_h_inputs(g: torch.Generator, case: int) -> dict:
    n, m, k, f = cf_sizes(g, case)
    v, mask = ratings(g, n, m, k)
    kw = {"v": v, "mask": mask, "w": randn(g, m, k, f), "b": randn(g, f)}
    if case == LARGE_CASE:
        kw["w"] = kw["w"] * stretch(torch.einsum("nmk,mkf->nf", v * mask[:, :, None], kw["w"]) + kw["b"])
    return kw


def cf_v_inputs(g: torch.Generator, case: int) -> dict:
    n, m, k, f = cf_sizes(g, case)
    kw = {"h": uniform(g, n, f, low=0.0, high=1.0), "w": randn(g, m, k, f), "a": randn(g, m, k)}
    if case == LARGE_CASE:
        scale = stretch(torch.einsum("nf,mkf->nmk", kw["h"], kw["w"]) + kw["a"])
        kw["w"], kw["a"] = kw["w"] * scale, kw["a"] * scale
    return kw


def cf_sample_inputs(g: torch.Generator, case: int) -> dict:
    n, m, k, _ = cf_sizes(g, case)
    p = torch.softmax(randn(g, n, m, k, scale=1.5), dim=2)
    noise = uniform(g, n, m, low=0.0, high=1.0)
    c = p.cumsum(dim=2)  # (N, M, K)
    for _ in range(k):  # move noise off every cumulative boundary
        close = ((noise[:, :, None] - c).abs() < 1e-3).any(dim=2)
        noise = torch.where(close, (noise + 2.5e-3) % 1.0, noise)
    return {"p": p, "noise": noise}


def cf_cd_inputs(g: torch.Generator, case: int) -> dict:
    n, m, k, f = cf_sizes(g, case)
    v, mask = ratings(g, n, m, k)
    return {"v0": v, "mask": mask, **cf_params(g, m, k, f), "noise_h": uniform(g, n, f, low=0.0, high=1.0),
            "noise_v": uniform(g, n, m, low=0.0, high=1.0)}


def cf_predict_inputs(g: torch.Generator, case: int) -> dict:
    n, m, k, f = cf_sizes(g, case)
    v, mask = ratings(g, n, m, k)
    kw = {"v": v, "mask": mask, **cf_params(g, m, k, f)}
    if case == LARGE_CASE:  # visible biases near +-1e3 dominate the softmax's inputs
        kw["a"] = kw["a"] * stretch(kw["a"])
    return kw


SUITE.call("cf_p_h_given_v", "cf_rbm", cf_h_inputs, ("p",))
SUITE.call("cf_p_v_given_h", "cf_rbm", cf_v_inputs, ("p",))
SUITE.call("cf_sample", "cf_rbm", cf_sample_inputs, ("s",))
SUITE.call("cf_cd1", "cf_rbm", cf_cd_inputs, ("dw", "da", "db", "v1"),
           calls=("cf_p_h_given_v", "cf_p_v_given_h", "cf_sample", "rbm_sample"))
SUITE.call("cf_predict", "cf_rbm", cf_predict_inputs, ("r",), calls=("cf_p_h_given_v", "cf_p_v_given_h"))
