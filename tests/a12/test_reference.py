"""a12 reference against ground truth: autograd of the same computations in float64 (torch's conv2d, linear,
softmax), central differences, scipy's Gaussian densities, weighted fits computed directly, and invariants."""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from reference.a12_capsules import capsules, em_routing, losses
from tests.helpers import numeric_grad

F64 = torch.float64


def gen(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def randn(seed: int, *shape: int, scale: float = 1.0) -> torch.Tensor:
    return torch.randn(*shape, generator=gen(seed), dtype=F64) * scale


def autograd(f, inputs: list[torch.Tensor], dout: torch.Tensor | None = None) -> list[torch.Tensor]:
    """Gradients of sum(f(*inputs) * dout) (of f's scalar when dout is None) with respect to every input."""
    leaves = [x.detach().clone().requires_grad_(True) for x in inputs]
    out = f(*leaves)
    total = out if dout is None else (out * dout).sum()
    return list(torch.autograd.grad(total, leaves))


def close(got, expected, tol: float = 1e-10):
    torch.testing.assert_close(got, expected, rtol=tol, atol=tol)


# Squash.

def squash_formula(s):
    n2 = (s * s).sum(-1, keepdim=True)
    return n2 / (1 + n2) * s / n2.sqrt()


@pytest.mark.parametrize("shape", [(1, 3), (2, 5, 4), (3, 2, 6, 7)])
def test_squash_shrinks_below_one_keeps_direction_and_backward_is_autograd(shape):
    s = randn(1, *shape, scale=2.0)
    v, cache = capsules.squash_forward(s)
    n, nv = s.norm(dim=-1), v.norm(dim=-1)
    assert (nv < 1).all() and torch.allclose(nv, n ** 2 / (1 + n ** 2), rtol=1e-12)
    close(F.cosine_similarity(v, s, dim=-1), torch.ones_like(n), 1e-12)  # v parallel to s
    dout = randn(2, *shape)
    (ds_true,) = autograd(squash_formula, [s], dout)
    close(capsules.squash_backward(dout, cache), ds_true)
    close(capsules.squash_backward(dout, cache), numeric_grad(lambda x: capsules.squash_forward(x)[0], s, dout), 1e-7)


def test_squash_extremes():
    s = torch.tensor([[1e-3, 0.0], [1.0, 0.0], [1e3, 0.0]], dtype=F64)
    v, _ = capsules.squash_forward(s)
    close(v[:, 0], torch.tensor([1e-6 / (1 + 1e-6), 0.5, 1e6 / (1 + 1e6)], dtype=F64), 1e-12)


# PrimaryCaps.

@pytest.mark.parametrize("k, stride, caps_dim", [(3, 2, 8), (2, 1, 4), (3, 3, 3)])
def test_primary_caps_is_conv2d_reshaped_into_squashed_capsules(k, stride, caps_dim):
    n, c, h, w, types = 2, 3, 9, 8, 3
    x, wt, b = randn(3, n, c, h, w), randn(4, types * caps_dim, c, k, k, scale=0.3), randn(5, types * caps_dim)

    def truth(x, wt, b):
        conv = F.conv2d(x, wt, b, stride=stride)  # (N, T*D, H', W')
        ho, wo = conv.shape[2:]
        s = conv.reshape(n, types, caps_dim, ho, wo).permute(0, 1, 3, 4, 2).reshape(n, types * ho * wo, caps_dim)
        return squash_formula(s)

    u, cache = capsules.primary_caps_forward(x, wt, b, caps_dim, stride)
    close(u, truth(x, wt, b))
    dout = randn(6, *u.shape)
    for got, expected in zip(capsules.primary_caps_backward(dout, cache), autograd(truth, [x, wt, b], dout)):
        close(got, expected)


def test_primary_caps_orders_capsules_type_row_column():
    """Capsule (t * H' + y) * W' + x is type t at (y, x): a 1x1 kernel shows it directly."""
    x = randn(7, 1, 1, 2, 3)
    w = torch.zeros(4, 1, 1, 1, dtype=F64)
    w[:, 0, 0, 0] = torch.tensor([1.0, 2.0, 3.0, 4.0], dtype=F64)  # 2 types of 2-D capsules
    u, _ = capsules.primary_caps_forward(x, w, torch.zeros(4, dtype=F64), caps_dim=2, stride=1)
    t, yy, xx = 1, 1, 2
    s = torch.tensor([3.0, 4.0], dtype=F64) * x[0, 0, yy, xx]
    close(u[0, (t * 2 + yy) * 3 + xx], squash_formula(s))


# Prediction vectors.

def test_predictions_are_one_matrix_per_pair_and_backward_is_autograd():
    u, W = randn(8, 2, 5, 3), randn(9, 5, 4, 6, 3)
    u_hat, cache = capsules.predictions_forward(u, W)
    for i in range(5):
        for j in range(4):
            close(u_hat[:, i, j], u[:, i] @ W[i, j].T)
    dout = randn(10, *u_hat.shape)
    expected = autograd(lambda u, W: torch.einsum("ijdk,nik->nijd", W, u), [u, W], dout)
    for got, want in zip(capsules.predictions_backward(dout, cache), expected):
        close(got, want)


# Routing by agreement.

def routing_truth(u_hat, iterations):
    """Procedure 1 of the paper, written plainly with torch's softmax; autograd differentiates all of it."""
    b = torch.zeros(u_hat.shape[:3], dtype=u_hat.dtype)
    for r in range(iterations):
        c = torch.softmax(b, dim=2)  # over the parents
        v = squash_formula((c[..., None] * u_hat).sum(dim=1))
        if r < iterations - 1:
            b = b + (u_hat * v[:, None]).sum(dim=-1)
    return v


@pytest.mark.parametrize("iterations", [1, 2, 3, 5])
def test_routing_matches_the_procedure_and_backward_is_autograd_through_every_iteration(iterations):
    u_hat = randn(11, 2, 6, 4, 5, scale=0.7)
    v, cache = capsules.routing_forward(u_hat, iterations)
    close(v, routing_truth(u_hat, iterations))
    dout = randn(12, *v.shape)
    (expected,) = autograd(lambda u: routing_truth(u, iterations), [u_hat], dout)
    close(capsules.routing_backward(dout, cache), expected)


def test_routing_backward_by_central_differences_and_default_iterations():
    u_hat = randn(13, 1, 3, 2, 4, scale=0.8)
    dout = randn(14, 1, 2, 4)
    v, cache = capsules.routing_forward(u_hat)
    close(v, routing_truth(u_hat, 3))
    close(capsules.routing_backward(dout, cache),
          numeric_grad(lambda u: capsules.routing_forward(u, 3)[0], u_hat, dout), 1e-7)


def test_couplings_sum_to_one_over_parents_and_start_uniform():
    u_hat = randn(15, 3, 7, 5, 4)
    v, (_, steps) = capsules.routing_forward(u_hat, 3)
    for c, _, _ in steps:
        close(c.sum(dim=2), torch.ones(3, 7, dtype=F64), 1e-12)
    close(steps[0][0], torch.full((3, 7, 5), 1 / 5, dtype=F64), 0)  # b = 0: uniform over the 5 parents
    v1, _ = capsules.routing_forward(u_hat, 1)
    close(v1, squash_formula(u_hat.sum(dim=1) / 5))
    assert not torch.allclose(steps[-1][0], steps[0][0])  # later iterations route by agreement


# Margin loss and reconstruction.

def margin_truth(v, y, m_plus=0.9, m_minus=0.1, lam=0.5):
    length = v.norm(dim=2)
    t = F.one_hot(y, v.shape[1]).to(F64)
    per = t * F.relu(m_plus - length) ** 2 + lam * (1 - t) * F.relu(length - m_minus) ** 2
    return per.sum(dim=1).mean()


@pytest.mark.parametrize("constants", [{}, {"m_plus": 0.8, "m_minus": 0.2, "lam": 0.3}])
def test_margin_loss_and_gradient_against_autograd(constants):
    d = randn(16, 5, 4, 3)
    v = d / d.norm(dim=2, keepdim=True) * torch.rand(5, 4, 1, generator=gen(17), dtype=F64)
    y = torch.tensor([0, 3, 1, 1, 2])
    loss, dv = losses.margin_loss(v, y, **constants)
    close(loss, margin_truth(v, y, **constants))
    (expected,) = autograd(lambda v: margin_truth(v, y, **constants), [v])
    close(dv, expected)
    swapped = margin_truth(v, y, m_plus=0.1, m_minus=0.9) if not constants else None
    assert swapped is None or abs(float(swapped) - float(loss)) > 1e-3


def decoder_truth(v, y, *flat):
    h = (v * F.one_hot(y, v.shape[1]).to(F64)[..., None]).flatten(1)
    layers = list(zip(flat[::2], flat[1::2]))
    for l, (w, b) in enumerate(layers):
        h = F.linear(h, w.T, b)
        h = torch.sigmoid(h) if l == len(layers) - 1 else F.relu(h)
    return h


def test_decoder_and_reconstruction_loss_against_autograd():
    v, y = randn(18, 4, 3, 5, scale=0.4), torch.tensor([2, 0, 1, 2])
    sizes = [15, 8, 11, 7]
    params = [(randn(20 + l, a, b, scale=0.5), randn(30 + l, b, scale=0.2)) for l, (a, b) in
              enumerate(zip(sizes[:-1], sizes[1:]))]
    flat = [t for p in params for t in p]
    images = torch.rand(4, 7, generator=gen(19), dtype=F64)
    out, _ = losses.decoder_forward(v, y, params)
    close(out, decoder_truth(v, y, *flat))
    for scale in (0.0005, 1.3):
        def truth(v, *flat):
            return scale * F.mse_loss(decoder_truth(v, y, *flat), images, reduction="sum") / 4
        loss, dv, grads = losses.reconstruction_loss(v, y, images, params, scale)
        close(loss, truth(v, *flat))
        expected = autograd(truth, [v, *flat])
        for got, want in zip([dv] + [g for pair in grads for g in pair], expected):
            close(got, want, 1e-12)
    assert (dv[torch.arange(4), y] != 0).all() and int((dv != 0).any(dim=2).sum()) == 4  # only the kept capsule


# EM routing.

def em_case(seed: int, n=2, i=6, j=3, h=5):
    g = gen(seed)
    votes = torch.randn(1, 1, j, h, generator=g, dtype=F64) * 1.5 + torch.randn(n, i, j, h, generator=g, dtype=F64)
    r = torch.softmax(torch.randn(n, i, j, generator=g, dtype=F64), dim=2)
    a_in = torch.rand(n, i, generator=g, dtype=F64) * 0.9 + 0.05
    return a_in, r, votes, torch.randn(j, generator=g, dtype=F64) * 0.5, torch.randn(j, generator=g, dtype=F64)


def test_m_step_is_the_weighted_gaussian_fit_computed_directly():
    a_in, r, votes, beta_u, beta_a = em_case(21)
    mu, sigma2, a_out = em_routing.em_m_step(a_in, r, votes, beta_u, beta_a, 0.3)
    n, i, j, h = votes.shape
    for k in range(n):
        for p in range(j):
            w = (r[k, :, p] * a_in[k]).numpy()
            x = votes[k, :, p].numpy()  # (I, H)
            mean = np.average(x, axis=0, weights=w)
            var = np.average((x - mean) ** 2, axis=0, weights=w)
            np.testing.assert_allclose(mu[k, p].numpy(), mean, rtol=1e-12, atol=1e-12)
            np.testing.assert_allclose(sigma2[k, p].numpy(), var, rtol=1e-12, atol=1e-12)
            cost = ((float(beta_u[p]) + 0.5 * np.log(var)) * w.sum()).sum()
            expected = 1 / (1 + math.exp(-0.3 * (float(beta_a[p]) - cost)))
            assert abs(float(a_out[k, p]) - expected) < 1e-12
    assert ((a_out > 0) & (a_out < 1)).all()


def test_e_step_is_bayes_rule_over_scipy_gaussians_and_sums_to_one():
    from scipy.stats import multivariate_normal

    a_in, r, votes, beta_u, beta_a = em_case(22)
    mu, sigma2, a_out = em_routing.em_m_step(a_in, r, votes, beta_u, beta_a, 0.3)
    new = em_routing.em_e_step(mu, sigma2, a_out, votes)
    close(new.sum(dim=2), torch.ones(new.shape[:2], dtype=F64), 1e-12)
    n, i, j, _ = votes.shape
    for k in range(n):
        for c in range(i):
            p = np.array([float(a_out[k, q]) * multivariate_normal.pdf(votes[k, c, q].numpy(), mu[k, q].numpy(),
                                                                        np.diag(sigma2[k, q].numpy())) for q in range(j)])
            np.testing.assert_allclose(new[k, c].numpy(), p / p.sum(), rtol=1e-10)
    far = em_routing.em_e_step(mu, sigma2, a_out, votes * 50)  # every density underflows to 0
    assert torch.isfinite(far).all()
    close(far.sum(dim=2), torch.ones(new.shape[:2], dtype=F64), 1e-12)


def test_em_routing_alternates_m_and_e_steps_and_ends_on_an_m_step():
    a_in, _, votes, beta_u, beta_a = em_case(23)
    n, i, j, _ = votes.shape
    mu, sigma2, a_out = em_routing.em_routing(a_in, votes, beta_u, beta_a, 3, 0.3)
    r = torch.full((n, i, j), 1 / j, dtype=F64)
    for it in range(3):
        m = em_routing.em_m_step(a_in, r, votes, beta_u, beta_a, 0.3)
        if it < 2:
            r = em_routing.em_e_step(*m, votes)
    for got, want in zip((mu, sigma2, a_out), m):
        close(got, want, 0)
    assert ((a_out > 0) & (a_out < 1)).all() and (sigma2 > 0).all()
