"""a02 reference against ground truth: torch.nn.functional and autograd, float64 finite differences."""
from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st

from reference.a02_mlp_backprop import layers, mlp
from tests.helpers import numeric_grad
from tests.strategies import away_from_zero, batch, dim, seeds, tensor

F64 = torch.float64
SETTINGS = settings(max_examples=25, deadline=None)


def autograd_grad(fn, x: torch.Tensor, dout: torch.Tensor) -> torch.Tensor:
    x = x.clone().requires_grad_(True)
    with torch.enable_grad():
        (fn(x) * dout).sum().backward()
    return x.grad


ACTIVATIONS = [
    ("sigmoid", torch.sigmoid, {}),
    ("tanh", torch.tanh, {}),
    ("relu", F.relu, {}),
    # F.softplus returns x itself above x = 20 (its threshold); logaddexp(x, 0) is exact there.
    ("softplus", lambda x: torch.logaddexp(x, torch.zeros_like(x)), {}),
    ("leaky_relu", lambda x: F.leaky_relu(x, 0.01), {"slope": 0.01}),
    ("leaky_relu", lambda x: F.leaky_relu(x, 0.3), {"slope": 0.3}),
]


@pytest.mark.parametrize("name,torch_fn,kw", ACTIVATIONS, ids=[f"{a[0]}-{i}" for i, a in enumerate(ACTIVATIONS)])
@SETTINGS
@given(seed=seeds, n=batch, d=dim, scale=st.sampled_from([0.5, 3.0, 40.0]))
def test_activation_matches_torch(name, torch_fn, kw, seed, n, d, scale):
    x = away_from_zero(seed, n, d, scale=scale)  # keep ReLU-like kinks away from 0
    dout = tensor(seed + 1, n, d)
    fwd, bwd = getattr(layers, f"{name}_forward"), getattr(layers, f"{name}_backward")
    out, cache = fwd(x, **kw)
    torch.testing.assert_close(out, torch_fn(x), rtol=1e-12, atol=1e-12)
    assert out.dtype == F64 and out.shape == x.shape
    torch.testing.assert_close(bwd(dout, cache), autograd_grad(torch_fn, x, dout), rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("name,torch_fn,kw", ACTIVATIONS[:5], ids=[a[0] for a in ACTIVATIONS[:5]])
def test_activation_backward_matches_finite_differences(name, torch_fn, kw):
    x = away_from_zero(7, 3, 4)
    dout = tensor(8, 3, 4)
    fwd, bwd = getattr(layers, f"{name}_forward"), getattr(layers, f"{name}_backward")
    _, cache = fwd(x, **kw)
    expected = numeric_grad(lambda v: fwd(v, **kw)[0], x, dout)
    torch.testing.assert_close(bwd(dout, cache), expected, rtol=1e-6, atol=1e-8)


def test_sigmoid_and_softplus_do_not_overflow():
    x = torch.tensor([-1000.0, -50.0, 0.0, 50.0, 1000.0], dtype=F64)
    s, _ = layers.sigmoid_forward(x)
    sp, _ = layers.softplus_forward(x)
    assert torch.isfinite(s).all() and torch.isfinite(sp).all()
    torch.testing.assert_close(s, torch.sigmoid(x))
    torch.testing.assert_close(sp, F.softplus(x))


@SETTINGS
@given(seed=seeds, n=batch, d=dim, m=dim)
def test_affine_matches_autograd(seed, n, d, m):
    x, w, b, dout = tensor(seed, n, d), tensor(seed + 1, d, m), tensor(seed + 2, m), tensor(seed + 3, n, m)
    out, cache = layers.affine_forward(x, w, b)
    torch.testing.assert_close(out, F.linear(x, w.T, b))
    dx, dw, db = layers.affine_backward(dout, cache)
    xs, ws, bs = (t.clone().requires_grad_(True) for t in (x, w, b))
    with torch.enable_grad():
        (F.linear(xs, ws.T, bs) * dout).sum().backward()
    for got, ref in ((dx, xs.grad), (dw, ws.grad), (db, bs.grad)):
        torch.testing.assert_close(got, ref)
        assert got.shape == ref.shape


def test_affine_backward_matches_finite_differences():
    x, w, b, dout = tensor(1, 3, 4), tensor(2, 4, 5), tensor(3, 5), tensor(4, 3, 5)
    _, cache = layers.affine_forward(x, w, b)
    dx, dw, db = layers.affine_backward(dout, cache)
    torch.testing.assert_close(dx, numeric_grad(lambda v: layers.affine_forward(v, w, b)[0], x, dout))
    torch.testing.assert_close(dw, numeric_grad(lambda v: layers.affine_forward(x, v, b)[0], w, dout))
    torch.testing.assert_close(db, numeric_grad(lambda v: layers.affine_forward(x, w, v)[0], b, dout))


@SETTINGS
@given(seed=seeds, n=batch, c=st.integers(2, 9), shift=st.sampled_from([0.0, 1e3, -1e4]))
def test_softmax_cross_entropy_matches_torch(seed, n, c, shift):
    scores = tensor(seed, n, c, scale=3.0) + shift  # large shifts: the max must be subtracted
    y = torch.randint(0, c, (n,), generator=torch.Generator().manual_seed(seed))
    loss, dscores = layers.softmax_cross_entropy(scores, y)
    s = scores.clone().requires_grad_(True)
    with torch.enable_grad():
        ref = F.cross_entropy(s, y)
        ref.backward()
    assert loss.dim() == 0 and torch.isfinite(loss)
    torch.testing.assert_close(loss, ref.detach())
    torch.testing.assert_close(dscores, s.grad)


@SETTINGS
@given(seed=seeds, n=batch, k=dim)
def test_mse_loss_matches_torch(seed, n, k):
    pred, target = tensor(seed, n, k), tensor(seed + 1, n, k)
    loss, dpred = layers.mse_loss(pred, target)
    p = pred.clone().requires_grad_(True)
    with torch.enable_grad():
        ref = 0.5 * F.mse_loss(p, target, reduction="sum") / n
        ref.backward()
    torch.testing.assert_close(loss, ref.detach())
    torch.testing.assert_close(dpred, p.grad)


def torch_mlp(x, params, hidden, output):
    acts = {"sigmoid": torch.sigmoid, "tanh": torch.tanh, "relu": F.relu, "softplus": F.softplus,
            "leaky_relu": lambda v: F.leaky_relu(v, 0.01), "identity": lambda v: v}
    h = x
    for i, (w, b) in enumerate(params):
        h = acts[hidden if i < len(params) - 1 else output](h @ w + b)
    return h


@SETTINGS
@given(seed=seeds, n=batch, depth=st.integers(1, 4), hidden=st.sampled_from(["sigmoid", "tanh", "relu", "softplus", "leaky_relu"]),
       output=st.sampled_from(["identity", "sigmoid"]))
def test_mlp_forward_backward_match_autograd(seed, n, depth, hidden, output):
    g = torch.Generator().manual_seed(seed)
    sizes = [int(v) for v in torch.randint(1, 6, (depth + 1,), generator=g)]
    params = mlp.init_params(sizes, g)
    params = [(w, b + 0.1) for w, b in params]
    x, dout = tensor(seed, n, sizes[0]), tensor(seed + 1, n, sizes[-1])
    out, cache = mlp.mlp_forward(x, params, hidden=hidden, output=output)
    torch.testing.assert_close(out, torch_mlp(x, params, hidden, output))
    grads = mlp.mlp_backward(dout, cache)
    leaves = [t.clone().requires_grad_(True) for pair in params for t in pair]
    with torch.enable_grad():
        ref = torch_mlp(x, list(zip(leaves[::2], leaves[1::2])), hidden, output)
        (ref * dout).sum().backward()
    assert len(grads) == depth
    for (dw, db), w, b in zip(grads, leaves[::2], leaves[1::2]):
        torch.testing.assert_close(dw, w.grad)
        torch.testing.assert_close(db, b.grad)


def test_sgd_step_is_pure_and_correct():
    params = [(tensor(1, 3, 2), tensor(2, 2))]
    grads = [(tensor(3, 3, 2), tensor(4, 2))]
    before = [(w.clone(), b.clone()) for w, b in params]
    new = mlp.sgd_step(params, grads, 0.1)
    torch.testing.assert_close(new[0][0], before[0][0] - 0.1 * grads[0][0])
    torch.testing.assert_close(new[0][1], before[0][1] - 0.1 * grads[0][1])
    assert torch.equal(params[0][0], before[0][0]) and torch.equal(params[0][1], before[0][1])


def test_layers_work_with_autograd_off_and_float32():
    with torch.no_grad():
        x = tensor(5, 4, 3).float()
        out, cache = layers.affine_forward(x, tensor(6, 3, 2).float(), tensor(7, 2).float())
        assert out.dtype == torch.float32
        dx, dw, db = layers.affine_backward(torch.ones(4, 2), cache)
        assert dx.dtype == dw.dtype == db.dtype == torch.float32
