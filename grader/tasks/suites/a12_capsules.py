"""What a12 (capsule networks, dynamic and EM routing) checks: inputs for each task, and how it runs.

Every task also checks that the function left its inputs unchanged. Sizes are distinct (children,
parents, capsule sizes, pose components) so a softmax or a sum over the wrong axis cannot pass;
case 0 has a batch of one. Vectors to squash have lengths from 0.2 to 3 (both sides of |s| = 1,
never near 0); margin-loss lengths stay clear of the hinges m+ and m-; routing runs 1 to 4
iterations (one case leaves ``iterations`` to the default, 3); EM votes keep every variance away
from 0, and the E-step's case ``LARGE_CASE`` puts the votes so far from the parents that every
Gaussian density underflows unless computed with logarithms.
"""
from __future__ import annotations

import torch

from grader.tasks.inputs import LARGE_CASE, batch_size, distinct_dims, randint, randn, scalar, uniform, with_dout
from grader.tasks.model import Suite, layer_pairs

SUITE = Suite("a12_capsules")
F64 = torch.float64


def capsule_vectors(g: torch.Generator, *shape: int, low: float = 0.2, high: float = 3.0) -> torch.Tensor:
    """Vectors along the last axis with random directions and lengths uniform in [low, high)."""
    s = randn(g, *shape)
    return s / s.norm(dim=-1, keepdim=True) * uniform(g, *shape[:-1], 1, low=low, high=high)


# Squash.

def squash_inputs(g: torch.Generator, case: int) -> dict:
    n = batch_size(g, case, high=4)
    dims = distinct_dims(g, 2 + case % 2, 2, 6)  # (N, A, D) or (N, A, B, D)
    return {"s": capsule_vectors(g, n, *dims)}


def same_as_s(kw: dict) -> tuple[int, ...]:
    return tuple(kw["s"].shape)


SUITE.call("squash_forward", "capsules", squash_inputs, ("v",))
SUITE.backward("squash_backward", "squash_forward", "capsules", with_dout(squash_inputs, same_as_s),
               grads=("ds",), wrt=("s",))


# PrimaryCaps.

PRIMARY = ((3, 2, 8), (2, 1, 4), (3, 1, 3), (4, 2, 5), (2, 2, 8), (3, 3, 6))  # (kernel, stride, caps_dim)


def primary_inputs(g: torch.Generator, case: int) -> dict:
    k, stride, caps_dim = PRIMARY[case % len(PRIMARY)]
    n = batch_size(g, case, high=3)
    c, types = randint(g, 1, 3), randint(g, 2, 4)
    h, w = distinct_dims(g, 2, k + stride, k + 3 * stride)
    return {"x": randn(g, n, c, h, w), "w": randn(g, types * caps_dim, c, k, k, scale=(1.0 / (c * k * k)) ** 0.5),
            "b": randn(g, types * caps_dim, scale=0.3), "caps_dim": caps_dim, "stride": stride}


def primary_out_shape(kw: dict) -> tuple[int, ...]:
    n, _, h, w = kw["x"].shape
    f, _, k, _ = kw["w"].shape
    s, d = kw["stride"], kw["caps_dim"]
    return n, f // d * ((h - k) // s + 1) * ((w - k) // s + 1), d


SUITE.call("primary_caps_forward", "capsules", primary_inputs, ("u",), calls=("squash_forward",))
SUITE.backward("primary_caps_backward", "primary_caps_forward", "capsules", with_dout(primary_inputs, primary_out_shape),
               grads=("dx", "dw", "db"), wrt=("x", "w", "b"), calls=("squash_forward", "squash_backward"))


# Prediction vectors and routing by agreement.

def predictions_inputs(g: torch.Generator, case: int) -> dict:
    n = batch_size(g, case, high=4)
    i, j, d, d_in = distinct_dims(g, 4, 2, 6)
    return {"u": capsule_vectors(g, n, i, d_in, low=0.1, high=1.0), "W": randn(g, i, j, d, d_in)}


def predictions_out_shape(kw: dict) -> tuple[int, ...]:
    return kw["u"].shape[0], *kw["W"].shape[:3]


ROUTING_ITERATIONS = (1, 3, 2, None, 4, 3)  # None: the default, 3
EM_ITERATIONS = (1, 3, 2, None, 3, 2)


def routing_inputs(g: torch.Generator, case: int) -> dict:
    n = batch_size(g, case, high=4)
    i, j, d = distinct_dims(g, 3, 2, 6)
    kw = {"u_hat": randn(g, n, i, j, d, scale=0.6)}
    if ROUTING_ITERATIONS[case % len(ROUTING_ITERATIONS)] is not None:
        kw["iterations"] = ROUTING_ITERATIONS[case % len(ROUTING_ITERATIONS)]
    return kw


def routing_out_shape(kw: dict) -> tuple[int, ...]:
    n, _, j, d = kw["u_hat"].shape
    return n, j, d


SUITE.call("predictions_forward", "capsules", predictions_inputs, ("u_hat",))
SUITE.backward("predictions_backward", "predictions_forward", "capsules",
               with_dout(predictions_inputs, predictions_out_shape), grads=("du", "dW"), wrt=("u", "W"))
SUITE.call("routing_forward", "capsules", routing_inputs, ("v",), calls=("squash_forward",))
SUITE.backward("routing_backward", "routing_forward", "capsules", with_dout(routing_inputs, routing_out_shape),
               grads=("du_hat",), wrt=("u_hat",), calls=("squash_forward", "squash_backward"))


# Margin loss, decoder and reconstruction loss.

HINGES = (0.1, 0.2, 0.8, 0.9)  # m- and m+ of the default and of case 3's constants


def margin_inputs(g: torch.Generator, case: int) -> dict:
    n = batch_size(g, case, high=6)
    j, d = distinct_dims(g, 2, 2, 6)
    lengths = uniform(g, n, j, low=0.02, high=0.98)
    for hinge in HINGES:  # move lengths within 0.02 of a hinge out of its way
        near = (lengths - hinge).abs() < 0.02
        lengths = torch.where(near, hinge + 0.04 * torch.sign(lengths - hinge + 1e-12), lengths)
    v = capsule_vectors(g, n, j, d)
    kw = {"v": v / v.norm(dim=-1, keepdim=True) * lengths[..., None], "y": torch.randint(0, j, (n,), generator=g)}
    if case == 3:
        kw.update(m_plus=0.8, m_minus=0.2, lam=0.3)
    return kw


def decoder_inputs(g: torch.Generator, case: int) -> dict:
    n = batch_size(g, case, high=5)
    j, d = distinct_dims(g, 2, 2, 5)
    sizes = [j * d] + [randint(g, 3, 9) for _ in range(1 + case % 2)] + [randint(g, 4, 12)]  # 2 or 3 layers
    params = [[randn(g, a, b, scale=(2.0 / a) ** 0.5), randn(g, b, scale=0.2)] for a, b in zip(sizes[:-1], sizes[1:])]
    return {"v": capsule_vectors(g, n, j, d, low=0.05, high=1.0), "y": torch.randint(0, j, (n,), generator=g),
            "params": params}


def reconstruction_inputs(g: torch.Generator, case: int) -> dict:
    kw = decoder_inputs(g, case)
    kw["images"] = uniform(g, kw["v"].shape[0], kw["params"][-1][0].shape[1], low=0.0, high=1.0)
    if case % 2 == 1:
        kw["scale"] = scalar(g, 0.5, 2.0)  # a weight near 1: a wrong factor shows above the tolerance
    return kw


def reconstruction_run(m, v, y, images, params, **kw):
    loss, dv, grads = m.losses.reconstruction_loss(v, y, images, [tuple(p) for p in params], **kw)
    return {"loss": loss, "dv": dv, **layer_pairs("reconstruction_loss", grads, len(params))}


def reconstruction_value(m, v, y, images, params, **kw):
    return m.losses.reconstruction_loss(v, y, images, [tuple(p) for p in params], **kw)[0]


def decoder_run(m, v, y, params):
    out, _ = m.losses.decoder_forward(v, y, [tuple(p) for p in params])
    return {"out": out}


# dv, and dW1, db1, ... for up to three layers, each the gradient of its params entry.
RECONSTRUCTION_WRT = {"dv": "v", **{f"d{p}{l}": f"params.{l - 1}.{k}" for l in range(1, 4) for k, p in enumerate("Wb")}}

SUITE.loss("margin_loss", "losses", margin_inputs, wrt="v")
SUITE.composite("decoder_forward", "losses", decoder_inputs, decoder_run)
SUITE.composite("reconstruction_loss", "losses", reconstruction_inputs, reconstruction_run, wrt=RECONSTRUCTION_WRT,
                forward=reconstruction_value, calls=("decoder_forward",))


# Matrix capsules with EM routing.

def em_sizes(g: torch.Generator, case: int) -> tuple[int, int, int, int]:
    """Several children per parent, so no parent's fit rests on one or two votes (a variance near 0)."""
    n = batch_size(g, case, high=3)
    i, j = randint(g, 8, 14), randint(g, 2, 5)
    h = 16 if case == 0 else randint(g, 2, 7)  # case 0: the paper's 4 x 4 pose matrices
    return n, i, j, h + 1 if h == j else h


def em_votes(g: torch.Generator, n: int, i: int, j: int, h: int) -> torch.Tensor:
    """Votes scattered around a centre of their own for each parent."""
    return randn(g, 1, 1, j, h, scale=1.5) + randn(g, n, i, j, h, scale=0.8)


def em_parameters(g: torch.Generator, j: int) -> dict:
    return {"beta_u": randn(g, j, scale=0.5), "beta_a": randn(g, j), "inverse_temperature": scalar(g, 0.05, 0.5)}


def m_step_inputs(g: torch.Generator, case: int) -> dict:
    n, i, j, h = em_sizes(g, case)
    logits = randn(g, n, i, j)
    r = torch.exp(logits) / torch.exp(logits).sum(dim=2, keepdim=True)  # (N, I, J): each child's sums to 1
    return {"a_in": uniform(g, n, i, low=0.05, high=1.0), "r": r, "votes": em_votes(g, n, i, j, h),
            **em_parameters(g, j)}


def e_step_inputs(g: torch.Generator, case: int) -> dict:
    n, i, j, h = em_sizes(g, case)
    votes = em_votes(g, n, i, j, h)
    if case == LARGE_CASE:
        votes = votes * 40.0  # every density underflows: exp(-hundreds of thousands)
    return {"mu": randn(g, n, j, h), "sigma2": uniform(g, n, j, h, low=0.3, high=2.0),
            "a_out": uniform(g, n, j, low=0.05, high=0.95), "votes": votes}


def em_routing_inputs(g: torch.Generator, case: int) -> dict:
    n, i, j, h = em_sizes(g, case)
    kw = {"a_in": uniform(g, n, i, low=0.05, high=1.0), "votes": em_votes(g, n, i, j, h), **em_parameters(g, j)}
    if EM_ITERATIONS[case % len(EM_ITERATIONS)] is not None:
        kw["iterations"] = EM_ITERATIONS[case % len(EM_ITERATIONS)]
    return kw


SUITE.call("em_m_step", "em_routing", m_step_inputs, ("mu", "sigma2", "a_out"))
SUITE.call("em_e_step", "em_routing", e_step_inputs, ("r",))
SUITE.call("em_routing", "em_routing", em_routing_inputs, ("mu", "sigma2", "a_out"), calls=("em_m_step", "em_e_step"))
