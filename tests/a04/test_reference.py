"""a04 reference against ground truth: torch's conv2d, unfold/fold, pooling, conv2d_input/weight, autograd, finite differences."""
from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st

from reference.a04_cnn import conv, layers, lenet, pool
from tests.helpers import numeric_grad
from tests.strategies import seeds, tensor

F64 = torch.float64
SETTINGS = settings(max_examples=20, deadline=None)
EXACT = dict(rtol=1e-10, atol=1e-11)



@st.composite
def conv_geometry(draw):
    """(N, C, H, W, F, HH, WW, stride, pad) with a kernel that fits the padded input."""
    n, c, f = draw(st.integers(1, 3)), draw(st.integers(1, 4)), draw(st.integers(1, 4))
    h, w = draw(st.integers(1, 9)), draw(st.integers(1, 9))
    stride, pad = draw(st.integers(1, 3)), draw(st.integers(0, 2))
    hh, ww = draw(st.integers(1, min(5, h + 2 * pad))), draw(st.integers(1, min(5, w + 2 * pad)))
    return n, c, h, w, f, hh, ww, stride, pad


def torch_conv_grads(x, w, b, dout, stride, pad):
    x, w, b = (t.clone().requires_grad_(True) for t in (x, w, b))
    with torch.enable_grad():
        out = F.conv2d(x, w, b, stride=stride, padding=pad)
        out.backward(dout)
    return out.detach(), x.grad, w.grad, b.grad


IMPLEMENTATIONS = {"naive": (conv.conv_forward_naive, conv.conv_backward_naive),
                   "fast": (conv.conv_forward, conv.conv_backward)}


@pytest.mark.parametrize("impl", list(IMPLEMENTATIONS))
@SETTINGS
@given(geometry=conv_geometry(), seed=seeds)
def test_conv_matches_torch_conv2d_and_autograd(impl, geometry, seed):
    n, c, h, w, f, hh, ww, stride, pad = geometry
    x, wt, b = tensor(seed, n, c, h, w), tensor(seed + 1, f, c, hh, ww), tensor(seed + 2, f)
    forward, backward = IMPLEMENTATIONS[impl]
    out, cache = forward(x, wt, b, stride, pad)
    dout = tensor(seed + 3, *out.shape)
    ref, dx_ref, dw_ref, db_ref = torch_conv_grads(x, wt, b, dout, stride, pad)
    assert out.shape == ref.shape and out.dtype == F64
    torch.testing.assert_close(out, ref, **EXACT)
    dx, dw, db = backward(dout, cache)
    torch.testing.assert_close(dx, dx_ref, **EXACT)
    torch.testing.assert_close(dw, dw_ref, **EXACT)
    torch.testing.assert_close(db, db_ref, **EXACT)


@SETTINGS
@given(geometry=conv_geometry(), seed=seeds)
def test_conv_gradients_match_conv2d_input_and_conv2d_weight(geometry, seed):
    n, c, h, w, f, hh, ww, stride, pad = geometry
    x, wt, b = tensor(seed, n, c, h, w), tensor(seed + 1, f, c, hh, ww), tensor(seed + 2, f)
    out, cache = conv.conv_forward(x, wt, b, stride, pad)
    dout = tensor(seed + 3, *out.shape)
    dx, dw, _ = conv.conv_backward(dout, cache)
    torch.testing.assert_close(dx, torch.nn.grad.conv2d_input(x.shape, wt, dout, stride=stride, padding=pad), **EXACT)
    torch.testing.assert_close(dw, torch.nn.grad.conv2d_weight(x, wt.shape, dout, stride=stride, padding=pad), **EXACT)


def test_conv_is_cross_correlation_not_convolution():
    # A kernel with a single 1 in its top-left corner reads the pixel up and to the left of the
    # centre in cross-correlation; a flipped kernel (true convolution) would read down and right.
    x = torch.arange(25, dtype=F64).reshape(1, 1, 5, 5)
    w = torch.zeros(1, 1, 3, 3, dtype=F64)
    w[0, 0, 0, 0] = 1.0
    for forward, _ in IMPLEMENTATIONS.values():
        out, _ = forward(x, w, torch.zeros(1, dtype=F64), 1, 0)
        assert torch.equal(out[0, 0], x[0, 0, :3, :3])


def test_conv_backward_matches_finite_differences():
    x, w, b = tensor(1, 2, 2, 5, 4), tensor(2, 3, 2, 3, 2), tensor(3, 3)
    for forward, backward in IMPLEMENTATIONS.values():
        out, cache = forward(x, w, b, 2, 1)
        dout = tensor(4, *out.shape)
        dx, dw, db = backward(dout, cache)
        torch.testing.assert_close(dx, numeric_grad(lambda v: forward(v, w, b, 2, 1)[0], x, dout), rtol=1e-6, atol=1e-8)
        torch.testing.assert_close(dw, numeric_grad(lambda v: forward(x, v, b, 2, 1)[0], w, dout), rtol=1e-6, atol=1e-8)
        torch.testing.assert_close(db, numeric_grad(lambda v: forward(x, w, v, 2, 1)[0], b, dout), rtol=1e-6, atol=1e-8)


@SETTINGS
@given(geometry=conv_geometry(), seed=seeds)
def test_im2col_is_unfold_and_col2im_is_fold(geometry, seed):
    n, c, h, w, _, hh, ww, stride, pad = geometry
    x = tensor(seed, n, c, h, w)
    cols = conv.im2col(x, hh, ww, stride, pad)
    torch.testing.assert_close(cols, F.unfold(x, (hh, ww), padding=pad, stride=stride), rtol=0, atol=0)
    back = tensor(seed + 1, *cols.shape)
    torch.testing.assert_close(conv.col2im(back, x.shape, hh, ww, stride, pad),
                               F.fold(back, (h, w), (hh, ww), padding=pad, stride=stride), **EXACT)


def test_im2col_rows_follow_the_flattened_filter_order():
    # Row c*HH*WW + p*WW + q of the columns meets w[f, c, p, q] in w.reshape(F, -1).
    x, w = tensor(5, 2, 3, 6, 7), tensor(6, 4, 3, 2, 3)
    cols = conv.im2col(x, 2, 3, 1, 1)
    out = (w.reshape(4, -1) @ cols).reshape(2, 4, 7, 7)
    torch.testing.assert_close(out, F.conv2d(x, w, padding=1), **EXACT)


def test_im2col_and_col2im_are_adjoint():
    # <im2col(x), y> = <x, col2im(y)>: col2im is the transpose of im2col, the fact conv_backward uses.
    x = tensor(7, 2, 3, 7, 6)
    cols = conv.im2col(x, 3, 2, 2, 1)
    y = tensor(8, *cols.shape)
    lhs, rhs = (cols * y).sum(), (x * conv.col2im(y, x.shape, 3, 2, 2, 1)).sum()
    torch.testing.assert_close(lhs, rhs, **EXACT)


def test_output_size_formula():
    assert conv.output_size(32, 5) == 28
    assert conv.output_size(227, 11, 4) == 55
    assert conv.output_size(224, 7, 2, 3) == 112
    assert conv.output_size(7, 3, 3) == 2  # (7 - 3) / 3 + 1 = 2.33, rounded down as torch does
    with pytest.raises(ValueError):
        conv.output_size(3, 5)


def no_ties(seed: int, *shape: int) -> torch.Tensor:
    """A random permutation of well-separated values: torch routes a tie's gradient to one maximum only."""
    g = torch.Generator().manual_seed(seed)
    numel = torch.Size(shape).numel()
    return (torch.randperm(numel, generator=g).to(F64) * 0.1 + torch.rand(numel, generator=g, dtype=F64) * 0.05) \
        .reshape(shape)


@st.composite
def pool_geometry(draw):
    n, c = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    h, w = draw(st.integers(1, 9)), draw(st.integers(1, 9))
    hh, ww = draw(st.integers(1, h)), draw(st.integers(1, w))
    return n, c, h, w, hh, ww, draw(st.integers(1, 3))


POOLS = {"max": (pool.max_pool_forward, pool.max_pool_backward, F.max_pool2d),
         "avg": (pool.avg_pool_forward, pool.avg_pool_backward, F.avg_pool2d)}


@pytest.mark.parametrize("kind", list(POOLS))
@SETTINGS
@given(geometry=pool_geometry(), seed=seeds)
def test_pooling_matches_torch_and_autograd(kind, geometry, seed):
    n, c, h, w, hh, ww, stride = geometry
    forward, backward, torch_pool = POOLS[kind]
    x = no_ties(seed, n, c, h, w)
    out, cache = forward(x, hh, ww, stride)
    xr = x.clone().requires_grad_(True)
    with torch.enable_grad():
        ref = torch_pool(xr, (hh, ww), stride)
        dout = tensor(seed + 1, *ref.shape)
        ref.backward(dout)
    assert out.shape == ref.shape
    torch.testing.assert_close(out, ref.detach(), **EXACT)
    torch.testing.assert_close(backward(dout, cache), xr.grad, **EXACT)


@pytest.mark.parametrize("kind", list(POOLS))
def test_pooling_backward_matches_finite_differences(kind):
    forward, backward, _ = POOLS[kind]
    x = no_ties(3, 1, 2, 7, 6)
    for hh, ww, stride in ((2, 2, 2), (3, 3, 2), (2, 3, 1)):
        out, cache = forward(x, hh, ww, stride)
        dout = tensor(4, *out.shape)
        expected = numeric_grad(lambda v: forward(v, hh, ww, stride)[0], x, dout)
        torch.testing.assert_close(backward(dout, cache), expected, rtol=1e-6, atol=1e-8)


def test_max_pool_gradient_goes_to_the_maximum_only():
    x = no_ties(9, 1, 1, 4, 4)
    out, cache = pool.max_pool_forward(x, 2, 2, 2)
    dx = pool.max_pool_backward(torch.ones_like(out), cache)
    assert int((dx != 0).sum()) == out.numel()  # one winner per window
    assert torch.equal(x[dx != 0].sort().values, out.flatten().sort().values)


def test_flatten_round_trip():
    x = tensor(1, 3, 4, 2, 5)
    out, cache = pool.flatten_forward(x)
    assert out.shape == (3, 40) and torch.equal(out, x.flatten(1))
    assert torch.equal(pool.flatten_backward(out, cache), x)


def test_layers_match_torch():
    x, w, b, dout = tensor(1, 4, 5), tensor(2, 5, 3), tensor(3, 3), tensor(4, 4, 3)
    out, cache = layers.affine_forward(x, w, b)
    torch.testing.assert_close(out, F.linear(x, w.T, b), **EXACT)
    xr, wr, br = (t.clone().requires_grad_(True) for t in (x, w, b))
    with torch.enable_grad():
        (F.linear(xr, wr.T, br) * dout).sum().backward()
    for got, want in zip(layers.affine_backward(dout, cache), (xr.grad, wr.grad, br.grad)):
        torch.testing.assert_close(got, want, **EXACT)
    z = tensor(5, 4, 3) + 1e-3 * torch.sign(tensor(5, 4, 3))
    out, cache = layers.relu_forward(z)
    torch.testing.assert_close(out, F.relu(z), **EXACT)
    torch.testing.assert_close(layers.relu_backward(dout, cache), dout * (z > 0), **EXACT)
    scores, y = tensor(6, 4, 3) * 3 + 1000.0, torch.tensor([0, 2, 1, 2])
    loss, dscores = layers.softmax_cross_entropy(scores, y)
    sr = scores.clone().requires_grad_(True)
    with torch.enable_grad():
        ref = F.cross_entropy(sr, y)
        ref.backward()
    torch.testing.assert_close(loss, ref.detach(), **EXACT)
    torch.testing.assert_close(dscores, sr.grad, **EXACT)


def torch_lenet(x: torch.Tensor, p: dict) -> torch.Tensor:
    h = F.max_pool2d(F.relu(F.conv2d(x, p["C1_w"], p["C1_b"])), 2)
    h = F.max_pool2d(F.relu(F.conv2d(h, p["C3_w"], p["C3_b"])), 2).flatten(1)
    h = F.relu(h @ p["C5_w"] + p["C5_b"])
    h = F.relu(h @ p["F6_w"] + p["F6_b"])
    return h @ p["out_w"] + p["out_b"]


@pytest.mark.parametrize("batch,channels,size", [(1, 1, 32), (3, 2, 20)])
def test_lenet_forward_backward_and_step_match_autograd(batch, channels, size):
    params = lenet.init_lenet(torch.Generator().manual_seed(batch), channels, size)
    params = {k: v + 0.05 * tensor(i, *v.shape) for i, (k, v) in enumerate(params.items())}  # nonzero biases
    x, y = tensor(11, batch, channels, size, size), torch.arange(batch) % 10
    scores, cache = lenet.lenet_forward(x, params)
    leaves = {k: v.clone().requires_grad_(True) for k, v in params.items()}
    with torch.enable_grad():
        ref = torch_lenet(x, leaves)
        loss = F.cross_entropy(ref, y)
        loss.backward()
    torch.testing.assert_close(scores, ref.detach(), **EXACT)
    _, dscores = layers.softmax_cross_entropy(scores, y)
    grads = lenet.lenet_backward(dscores, cache)
    assert list(grads) == list(lenet.PARAM_NAMES)
    for k in params:
        torch.testing.assert_close(grads[k], leaves[k].grad, **EXACT)
    before = {k: v.clone() for k, v in params.items()}
    step_loss, new = lenet.lenet_train_step(x, y, params, lr=0.1)
    torch.testing.assert_close(step_loss, loss.detach(), **EXACT)
    for k in params:
        assert torch.equal(params[k], before[k])
        torch.testing.assert_close(new[k], before[k] - 0.1 * leaves[k].grad, **EXACT)


def test_lenet_backward_matches_finite_differences():
    params = lenet.init_lenet(torch.Generator().manual_seed(3), 1, 16, classes=3, widths=(2, 3, 4, 5))
    x, dscores = tensor(12, 2, 1, 16, 16), tensor(13, 2, 3)
    _, cache = lenet.lenet_forward(x, params)
    grads = lenet.lenet_backward(dscores, cache)
    for k in ("C1_w", "C3_b", "F6_w", "out_b"):
        def f(v, k=k):
            return lenet.lenet_forward(x, {**params, k: v})[0]
        torch.testing.assert_close(grads[k], numeric_grad(f, params[k], dscores), rtol=1e-5, atol=1e-7)


def test_lenet_has_61706_parameters():
    params = lenet.init_lenet(torch.Generator().manual_seed(0))
    assert lenet.parameter_count(params) == 61706
    assert {k: tuple(v.shape) for k, v in params.items()} == {
        "C1_w": (6, 1, 5, 5), "C1_b": (6,), "C3_w": (16, 6, 5, 5), "C3_b": (16,), "C5_w": (400, 120),
        "C5_b": (120,), "F6_w": (120, 84), "F6_b": (84,), "out_w": (84, 10), "out_b": (10,)}


def test_functions_follow_the_input_dtype():
    x, w, b = tensor(1, 2, 3, 6, 6).float(), tensor(2, 4, 3, 3, 3).float(), tensor(3, 4).float()
    for forward, backward in IMPLEMENTATIONS.values():
        out, cache = forward(x, w, b, 1, 1)
        assert out.dtype == torch.float32
        assert all(g.dtype == torch.float32 for g in backward(torch.ones_like(out), cache))
    for forward, backward, _ in POOLS.values():
        out, cache = forward(x, 2, 2, 2)
        assert out.dtype == torch.float32 and backward(out, cache).dtype == torch.float32
