"""a07 reference against ground truth: the same costs in torch ops with autograd (float64), central
differences, the free energy's gradient for CD-1, and the stack's own conditionals for the unrolled MLP."""
from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st

from reference.a07_autoencoders_dbn import autoencoder, dbn, rbm
from tests.helpers import numeric_grad
from tests.strategies import seeds, tensor

F64 = torch.float64
SETTINGS = settings(max_examples=10, deadline=None)
CLOSE = dict(rtol=1e-10, atol=1e-12)
ACT = {"sigmoid": torch.sigmoid, "tanh": torch.tanh, "linear": lambda z: z}


def uniform(seed: int, *shape: int, low: float = 0.0, high: float = 1.0) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return torch.rand(*shape, generator=g, dtype=F64) * (high - low) + low


def autograd(cost, *tensors):
    """cost(*tensors) and its gradients by torch's autograd."""
    leaves = [t.clone().requires_grad_(True) for t in tensors]
    with torch.enable_grad():
        value = cost(*leaves)
        grads = torch.autograd.grad(value, leaves)
    return value.detach(), grads


def ae_params(seed: int, d: int, h: int, scale: float = 0.7):
    return tensor(seed, d, h, scale=scale), tensor(seed + 1, h, scale=0.5), tensor(seed + 2, h, d, scale=scale), \
        tensor(seed + 3, d, scale=0.5)


# Autoencoder.

@pytest.mark.parametrize("hidden", list(ACT))
@pytest.mark.parametrize("output", ["linear", "sigmoid"])
@SETTINGS
@given(seed=seeds, n=st.integers(1, 6), d=st.integers(1, 6), h=st.integers(1, 5), direct=st.booleans())
def test_ae_forward_and_backward_match_torch_and_autograd(hidden, output, seed, n, d, h, direct):
    x, (W1, b1, W2, b2) = tensor(seed, n, d), ae_params(seed + 1, d, h)
    dout, dh = tensor(seed + 9, n, d), (tensor(seed + 10, n, h) if direct else None)
    xhat, cache = autoencoder.ae_forward(x, W1, b1, W2, b2, hidden, output)

    def torch_ae(W1, b1, W2, b2):
        code = ACT[hidden](F.linear(x, W1.T, b1))
        out = ACT[output](F.linear(code, W2.T, b2))
        return out, code

    ref, code = torch_ae(W1, b1, W2, b2)
    torch.testing.assert_close(xhat, ref, **CLOSE)
    torch.testing.assert_close(cache[3], code, **CLOSE)

    def objective(*p):
        out, code = torch_ae(*p)
        return (out * dout).sum() + ((code * dh).sum() if dh is not None else 0.0)

    _, expected = autograd(objective, W1, b1, W2, b2)
    for got, want in zip(autoencoder.ae_backward(dout, cache, dh), expected):
        torch.testing.assert_close(got, want, rtol=1e-9, atol=1e-11)


def test_ae_backward_matches_finite_differences():
    x, (W1, b1, W2, b2), dout = tensor(1, 4, 5), ae_params(2, 5, 3), tensor(3, 4, 5)
    _, cache = autoencoder.ae_forward(x, W1, b1, W2, b2, "tanh", "sigmoid")
    dW1, db1, dW2, db2 = autoencoder.ae_backward(dout, cache)
    fwd = lambda **kw: autoencoder.ae_forward(**{"x": x, "W1": W1, "b1": b1, "W2": W2, "b2": b2,  # noqa: E731
                                                 "hidden": "tanh", "output": "sigmoid", **kw})[0]
    for got, name, value in ((dW1, "W1", W1), (db1, "b1", b1), (dW2, "W2", W2), (db2, "b2", b2)):
        torch.testing.assert_close(got, numeric_grad(lambda v: fwd(**{name: v}), value, dout), rtol=1e-6, atol=1e-8)


@SETTINGS
@given(seed=seeds, n=st.integers(1, 6), d=st.integers(1, 6), h=st.integers(1, 5), lam=st.floats(0.0, 1.0))
def test_reconstruction_loss_matches_autograd(seed, n, d, h, lam):
    xhat, x, W1, W2 = tensor(seed, n, d), tensor(seed + 1, n, d), tensor(seed + 2, d, h), tensor(seed + 3, h, d)
    loss, *grads = autoencoder.reconstruction_loss(xhat, x, W1, W2, lam)
    ref, expected = autograd(lambda xh, a, b: F.mse_loss(xh, x, reduction="sum") / (2 * n)
                             + lam / 2 * (a.pow(2).sum() + b.pow(2).sum()), xhat, W1, W2)
    torch.testing.assert_close(loss, ref, **CLOSE)
    for got, want in zip(grads, expected):
        torch.testing.assert_close(got, want, **CLOSE)


def torch_kl(h: torch.Tensor, rho: float, beta: float) -> torch.Tensor:
    """beta sum_j KL(rho || rho_hat_j) with torch's own binary cross-entropy: KL = BCE(q, rho) - H(rho)."""
    rho_hat = h.mean(dim=0)
    target = torch.full_like(rho_hat, rho)
    entropy = -(rho * torch.log(torch.tensor(rho, dtype=F64)) + (1 - rho) * torch.log(torch.tensor(1 - rho, dtype=F64)))
    return beta * (F.binary_cross_entropy(rho_hat, target, reduction="sum") - len(rho_hat) * entropy)


@SETTINGS
@given(seed=seeds, n=st.integers(1, 7), h=st.integers(1, 6), rho=st.sampled_from([0.01, 0.05, 0.2, 0.5]),
       beta=st.floats(0.1, 5.0))
def test_sparsity_penalty_matches_autograd(seed, n, h, rho, beta):
    code = uniform(seed, n, h, low=0.02, high=0.98)
    penalty, dh = autoencoder.sparsity_penalty(code, rho, beta)
    ref, (expected,) = autograd(lambda c: torch_kl(c, rho, beta), code)
    torch.testing.assert_close(penalty, ref, rtol=1e-9, atol=1e-11)
    torch.testing.assert_close(dh, expected, rtol=1e-9, atol=1e-11)


def test_sparsity_penalty_is_zero_at_rho_and_its_gradient_matches_finite_differences():
    code = torch.full((4, 3), 0.1, dtype=F64)
    penalty, dh = autoencoder.sparsity_penalty(code, 0.1, 3.0)
    assert abs(float(penalty)) < 1e-14 and float(dh.abs().max()) < 1e-13  # KL(rho || rho) = 0, a minimum
    code = uniform(5, 5, 3, low=0.1, high=0.9)
    _, dh = autoencoder.sparsity_penalty(code, 0.05, 2.0)
    torch.testing.assert_close(dh, numeric_grad(lambda c: autoencoder.sparsity_penalty(c, 0.05, 2.0)[0], code),
                               rtol=1e-6, atol=1e-8)


@pytest.mark.parametrize("output", ["linear", "sigmoid"])
@SETTINGS
@given(seed=seeds, n=st.integers(1, 6), d=st.integers(2, 6), h=st.integers(1, 5))
def test_sparse_ae_loss_matches_the_cost_in_torch_ops_and_autograd(output, seed, n, d, h):
    x, params = uniform(seed, n, d, low=0.1, high=0.9), ae_params(seed + 1, d, h, scale=0.4)
    lam, rho, beta = 1e-2, 0.1, 3.0
    loss, *grads = autoencoder.sparse_ae_loss(x, *params, lam, rho, beta, output=output)

    def cost(W1, b1, W2, b2):
        code = torch.sigmoid(F.linear(x, W1.T, b1))
        out = ACT[output](F.linear(code, W2.T, b2))
        return F.mse_loss(out, x, reduction="sum") / (2 * n) + lam / 2 * (W1.pow(2).sum() + W2.pow(2).sum()) \
            + torch_kl(code, rho, beta)

    ref, expected = autograd(cost, *params)
    torch.testing.assert_close(loss, ref, rtol=1e-9, atol=1e-11)
    for got, want in zip(grads, expected):
        torch.testing.assert_close(got, want, rtol=1e-8, atol=1e-10)


def test_sparse_ae_gradient_matches_finite_differences():
    x, (W1, b1, W2, b2) = uniform(7, 6, 5, low=0.1, high=0.9), ae_params(8, 5, 3, scale=0.4)
    _, dW1, db1, _, _ = autoencoder.sparse_ae_loss(x, W1, b1, W2, b2, 1e-3, 0.05, 3.0)
    cost = lambda W1, b1: autoencoder.sparse_ae_loss(x, W1, b1, W2, b2, 1e-3, 0.05, 3.0)[0]  # noqa: E731
    torch.testing.assert_close(dW1, numeric_grad(lambda v: cost(v, b1), W1), rtol=1e-6, atol=1e-8)
    torch.testing.assert_close(db1, numeric_grad(lambda v: cost(W1, v), b1), rtol=1e-6, atol=1e-8)


# Restricted Boltzmann machine and deep belief network.

def free_energy(v, W, b, c):
    """F(v) = -b.v - sum_j softplus(c_j + v W_j), one value per row."""
    return -(v @ b) - F.softplus(v @ W + c).sum(dim=1)


@SETTINGS
@given(seed=seeds, n=st.integers(1, 6), d=st.integers(1, 6), h=st.integers(1, 5), lr=st.floats(0.01, 1.0))
def test_cd1_is_the_free_energy_difference_gradient_with_the_reconstruction_held(seed, n, d, h, lr):
    """CD-1 follows -d/dtheta [mean F(v) - mean F(v1)] with v1 held fixed: the probabilities p(h|v) and
    p(h|v1) are exactly d(-F)/dc, so the autograd gradient of the free energies is the guide's statistics."""
    v = (uniform(seed, n, d) < 0.5).to(F64)
    W, b, c, noise = tensor(seed + 1, d, h), tensor(seed + 2, d, scale=0.5), tensor(seed + 3, h, scale=0.5), \
        uniform(seed + 4, n, h)
    new_W, new_b, new_c, error = rbm.rbm_cd1(v, W, b, c, noise, lr)
    h0 = (noise < torch.sigmoid(v @ W + c)).to(F64)
    v1 = torch.sigmoid(h0 @ W.T + b)
    _, (dW, db, dc) = autograd(lambda W, b, c: (free_energy(v, W, b, c) - free_energy(v1, W, b, c)).mean(), W, b, c)
    torch.testing.assert_close(new_W, W - lr * dW, **CLOSE)
    torch.testing.assert_close(new_b, b - lr * db, **CLOSE)
    torch.testing.assert_close(new_c, c - lr * dc, **CLOSE)
    torch.testing.assert_close(error, F.mse_loss(v1, v, reduction="sum") / n, **CLOSE)


def test_cd1_leaves_its_inputs_unchanged_and_samples_with_the_noise_given():
    v, W, b, c = uniform(1, 3, 4), tensor(2, 4, 2), tensor(3, 4), tensor(4, 2)
    before = [t.clone() for t in (v, W, b, c)]
    ones, zeros = rbm.rbm_cd1(v, W, b, c, torch.zeros(3, 2, dtype=F64), 0.1), \
        rbm.rbm_cd1(v, W, b, c, torch.ones(3, 2, dtype=F64), 0.1)
    assert all(torch.equal(t, u) for t, u in zip(before, (v, W, b, c)))
    v_on, v_off = torch.sigmoid(W.sum(1) + b), torch.sigmoid(b)  # every hidden unit on / off
    torch.testing.assert_close(ones[3], ((v - v_on) ** 2).sum() / 3, **CLOSE)
    torch.testing.assert_close(zeros[3], ((v - v_off) ** 2).sum() / 3, **CLOSE)


def small_digits(n: int = 80) -> torch.Tensor:
    from sklearn.datasets import load_digits
    return torch.tensor(load_digits().data[:n] / 16.0, dtype=F64)


def test_each_layer_reconstruction_error_falls_and_trains_on_the_probabilities_below():
    x = small_digits()
    g = torch.Generator().manual_seed(0)
    init = [(torch.randn(a, b, generator=g, dtype=F64) * 0.01, torch.zeros(a, dtype=F64), torch.zeros(b, dtype=F64))
            for a, b in ((64, 20), (20, 8))]
    noise = [torch.rand(5, len(x), b, generator=g, dtype=F64) for b in (20, 8)]
    stack, errors = dbn.dbn_pretrain(x, init, noise, lr=0.2, batch=20)
    assert errors.shape == (2, 5)
    assert (errors[:, -1] < 0.8 * errors[:, 0]).all(), errors
    # layer 2 alone, trained on layer 1's hidden probabilities, is the same layer
    (W1, _, c1), top = stack[0], stack[1]
    alone, alone_errors = dbn.dbn_pretrain(rbm.hidden_probs(x, W1, c1), init[1:], noise[1:], lr=0.2, batch=20)
    for got, want in zip(top, alone[0]):
        torch.testing.assert_close(got, want, rtol=0, atol=0)
    torch.testing.assert_close(errors[1:], alone_errors, rtol=0, atol=0)


def test_pretrain_is_cd1_over_minibatches_in_order():
    x, (W, b, c) = uniform(3, 5, 4), (tensor(4, 4, 3), tensor(5, 4), tensor(6, 3))
    noise = uniform(7, 2, 5, 3)
    (got,), errors = dbn.dbn_pretrain(x, [(W, b, c)], [noise], lr=0.3, batch=2)
    total = []
    for e in range(2):
        weighted = 0.0
        for i in (0, 2, 4):
            W, b, c, err = rbm.rbm_cd1(x[i:i + 2], W, b, c, noise[e, i:i + 2], 0.3)
            weighted += float(err) * len(x[i:i + 2])
        total.append(weighted / 5)
    for t, u in zip(got, (W, b, c)):
        torch.testing.assert_close(t, u, **CLOSE)
    torch.testing.assert_close(errors, torch.tensor([total], dtype=F64), **CLOSE)


@SETTINGS
@given(seed=seeds, n=st.integers(1, 6), sizes=st.lists(st.integers(1, 6), min_size=2, max_size=4))
def test_unrolled_forward_is_the_composition_of_the_stacks_conditionals(seed, n, sizes):
    stack = [(tensor(seed + i, a, b), tensor(seed + 10 + i, a), tensor(seed + 20 + i, b))
             for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:]))]
    x = uniform(seed, n, sizes[0])
    top = sizes[-1]
    params = dbn.dbn_unroll(stack, torch.eye(top, dtype=F64), torch.zeros(top, dtype=F64))  # identity head
    assert len(params) == len(stack) + 1
    scores, (_, _, hs) = dbn.dbn_forward(x, params)
    expected = x
    for (W, _, c), h in zip(stack, hs):
        expected = rbm.hidden_probs(expected, W, c)  # p(h|v), layer by layer
        torch.testing.assert_close(h, expected, **CLOSE)
    torch.testing.assert_close(scores, expected, **CLOSE)


def mlp(seed: int, sizes: list[int]):
    return [(tensor(seed + i, a, b), tensor(seed + 10 + i, b)) for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:]))]


def torch_mlp(x, flat):
    h = x
    pairs = list(zip(flat[::2], flat[1::2]))
    for W, b in pairs[:-1]:
        h = torch.sigmoid(F.linear(h, W.T, b))
    return F.linear(h, pairs[-1][0].T, pairs[-1][1])


@SETTINGS
@given(seed=seeds, n=st.integers(1, 6), sizes=st.lists(st.integers(1, 6), min_size=2, max_size=5))
def test_dbn_forward_and_backward_match_autograd(seed, n, sizes):
    x, params, dout = tensor(seed, n, sizes[0]), mlp(seed + 1, sizes), tensor(seed + 2, n, sizes[-1])
    scores, cache = dbn.dbn_forward(x, params)
    flat = [t for pair in params for t in pair]
    torch.testing.assert_close(scores, torch_mlp(x, flat), **CLOSE)
    _, expected = autograd(lambda *p: (torch_mlp(x, p) * dout).sum(), *flat)
    got = [t for pair in dbn.dbn_backward(dout, cache) for t in pair]
    for g, e in zip(got, expected):
        torch.testing.assert_close(g, e, rtol=1e-9, atol=1e-11)


@SETTINGS
@given(seed=seeds, n=st.integers(1, 6), sizes=st.lists(st.integers(2, 6), min_size=2, max_size=4),
       lr=st.floats(0.01, 1.0), shift=st.sampled_from([0.0, 1e3]))
def test_finetune_step_is_sgd_on_torch_cross_entropy(seed, n, sizes, lr, shift):
    x, params = tensor(seed, n, sizes[0]), mlp(seed + 1, sizes)
    params[-1] = (params[-1][0], params[-1][1] + shift)  # scores near 1e3: the softmax must not overflow
    y = torch.randint(0, sizes[-1], (n,), generator=torch.Generator().manual_seed(seed))
    flat = [t for pair in params for t in pair]
    ref, grads = autograd(lambda *p: F.cross_entropy(torch_mlp(x, p), y), *flat)
    loss, new = dbn.dbn_finetune_step(x, y, params, lr)
    torch.testing.assert_close(loss, ref, rtol=1e-9, atol=1e-11)
    for t, g, u in zip(flat, grads, [t for pair in new for t in pair]):
        torch.testing.assert_close(u, t - lr * g, rtol=1e-9, atol=1e-11)
