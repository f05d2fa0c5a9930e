"""a05 reference against ground truth: nn.BatchNorm1d/2d, LocalResponseNorm, conv2d with groups, max_pool2d, autograd, finite differences."""
from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st

from reference.a05_batchnorm_alexnet import alexnet, batchnorm, layers
from tests.helpers import numeric_grad
from tests.strategies import seeds, tensor

F64 = torch.float64
SETTINGS = settings(max_examples=20, deadline=None)
EXACT = dict(rtol=1e-10, atol=1e-11)



BACKWARDS = {"graph": batchnorm.batchnorm_backward, "closed form": batchnorm.batchnorm_backward_alt}


def shifted(seed: int, *shape: int) -> torch.Tensor:
    """Values whose mean and spread are far from 0 and 1, so normalization has work to do."""
    return tensor(seed, *shape, scale=2.5) + 3.0


def torch_bn(module_cls, c: int, gamma, beta, eps: float, momentum: float = 0.1):
    bn = module_cls(c, eps=eps, momentum=momentum, dtype=F64)
    with torch.no_grad():
        bn.weight.copy_(gamma)
        bn.bias.copy_(beta)
    return bn


def module_grads(module, x: torch.Tensor, dout: torch.Tensor):
    x = x.clone().requires_grad_(True)
    with torch.enable_grad():
        out = module(x)
        out.backward(dout)
    return out.detach(), x.grad, module.weight.grad, module.bias.grad


@pytest.mark.parametrize("form", list(BACKWARDS))
@SETTINGS
@given(seed=seeds, n=st.integers(2, 7), d=st.integers(1, 6), eps=st.sampled_from([1e-5, 1e-3, 0.1]))
def test_batchnorm_matches_batchnorm1d_and_autograd(form, seed, n, d, eps):
    x, gamma, beta, dout = shifted(seed, n, d), tensor(seed + 1, d), tensor(seed + 2, d), tensor(seed + 3, n, d)
    ref, dx_ref, dgamma_ref, dbeta_ref = module_grads(torch_bn(torch.nn.BatchNorm1d, d, gamma, beta, eps), x, dout)
    out, cache = batchnorm.batchnorm_forward(x, gamma, beta, eps)
    assert out.shape == (n, d) and out.dtype == F64
    torch.testing.assert_close(out, ref, **EXACT)
    dx, dgamma, dbeta = BACKWARDS[form](dout, cache)
    assert dx.shape == x.shape and dgamma.shape == dbeta.shape == (d,)
    torch.testing.assert_close(dx, dx_ref, rtol=1e-9, atol=1e-10)
    torch.testing.assert_close(dgamma, dgamma_ref, **EXACT)
    torch.testing.assert_close(dbeta, dbeta_ref, **EXACT)


def test_training_output_is_normalized_with_the_biased_variance():
    x = shifted(0, 5, 3)
    out, _ = batchnorm.batchnorm_forward(x, torch.ones(3, dtype=F64), torch.zeros(3, dtype=F64), eps=0.0)
    torch.testing.assert_close(out.mean(0), torch.zeros(3, dtype=F64), rtol=0, atol=1e-12)
    torch.testing.assert_close(out.var(0, unbiased=False), torch.ones(3, dtype=F64), rtol=0, atol=1e-12)


@pytest.mark.parametrize("form", list(BACKWARDS))
def test_batchnorm_backward_matches_finite_differences(form):
    x, gamma, beta, dout = shifted(11, 4, 3), tensor(12, 3), tensor(13, 3), tensor(14, 4, 3)
    _, cache = batchnorm.batchnorm_forward(x, gamma, beta)
    dx, dgamma, dbeta = BACKWARDS[form](dout, cache)
    torch.testing.assert_close(dx, numeric_grad(lambda v: batchnorm.batchnorm_forward(v, gamma, beta)[0], x, dout),
                               rtol=1e-6, atol=1e-7)
    torch.testing.assert_close(dgamma, numeric_grad(lambda v: batchnorm.batchnorm_forward(x, v, beta)[0], gamma, dout),
                               rtol=1e-6, atol=1e-7)
    torch.testing.assert_close(dbeta, numeric_grad(lambda v: batchnorm.batchnorm_forward(x, gamma, v)[0], beta, dout),
                               rtol=1e-6, atol=1e-7)


@SETTINGS
@given(seed=seeds, n=st.integers(2, 6), d=st.integers(1, 5), k=st.integers(1, 4),
       momentum=st.sampled_from([0.1, 0.3, 0.01]))
def test_running_statistics_match_batchnorm1d_after_k_batches(seed, n, d, k, momentum):
    bn = torch_bn(torch.nn.BatchNorm1d, d, torch.ones(d, dtype=F64), torch.zeros(d, dtype=F64), 1e-5, momentum)
    mean, var = torch.zeros(d, dtype=F64), torch.ones(d, dtype=F64)
    for i in range(k):
        x = shifted(seed + i, n, d)
        bn(x)
        before = (mean.clone(), var.clone())
        new_mean, new_var = batchnorm.batchnorm_running_stats(x, mean, var, momentum)
        assert torch.equal(before[0], mean) and torch.equal(before[1], var)  # pure: the inputs are kept
        mean, var = new_mean, new_var
    torch.testing.assert_close(mean, bn.running_mean, **EXACT)
    torch.testing.assert_close(var, bn.running_var, **EXACT)
    # and inference with them is nn.BatchNorm1d in eval mode
    x = shifted(seed + 99, 3, d)
    gamma, beta = tensor(seed + 7, d), tensor(seed + 8, d)
    with torch.no_grad():
        bn.weight.copy_(gamma)
        bn.bias.copy_(beta)
    torch.testing.assert_close(batchnorm.batchnorm_inference(x, gamma, beta, mean, var), bn.eval()(x), **EXACT)


def test_running_variance_is_the_unbiased_one():
    x = torch.tensor([[1.0], [3.0]], dtype=F64)  # biased variance 1, unbiased 2
    mean, var = batchnorm.batchnorm_running_stats(x, torch.zeros(1, dtype=F64), torch.zeros(1, dtype=F64), 1.0)
    assert float(mean) == 2.0 and float(var) == 2.0
    mean, var = batchnorm.batchnorm_running_stats(x, torch.ones(1, dtype=F64), torch.ones(1, dtype=F64), 0.1)
    torch.testing.assert_close(mean, torch.tensor([0.9 + 0.2], dtype=F64))  # new = 0.9 old + 0.1 batch
    torch.testing.assert_close(var, torch.tensor([0.9 + 0.2], dtype=F64))


@SETTINGS
@given(seed=seeds, n=st.integers(1, 3), c=st.integers(1, 4), h=st.integers(1, 4), w=st.integers(2, 4),
       eps=st.sampled_from([1e-5, 0.1]))
def test_spatial_batchnorm_matches_batchnorm2d_and_autograd(seed, n, c, h, w, eps):
    x, gamma, beta, dout = shifted(seed, n, c, h, w), tensor(seed + 1, c), tensor(seed + 2, c), tensor(seed + 3, n, c, h, w)
    bn = torch_bn(torch.nn.BatchNorm2d, c, gamma, beta, eps)
    ref, dx_ref, dgamma_ref, dbeta_ref = module_grads(bn, x, dout)
    out, cache = batchnorm.spatial_batchnorm_forward(x, gamma, beta, eps)
    torch.testing.assert_close(out, ref, **EXACT)
    dx, dgamma, dbeta = batchnorm.spatial_batchnorm_backward(dout, cache)
    torch.testing.assert_close(dx, dx_ref, rtol=1e-9, atol=1e-10)
    torch.testing.assert_close(dgamma, dgamma_ref, **EXACT)
    torch.testing.assert_close(dbeta, dbeta_ref, **EXACT)
    mean, var = batchnorm.spatial_batchnorm_running_stats(x, torch.zeros(c, dtype=F64), torch.ones(c, dtype=F64))
    torch.testing.assert_close(mean, bn.running_mean, **EXACT)
    torch.testing.assert_close(var, bn.running_var, **EXACT)
    torch.testing.assert_close(batchnorm.spatial_batchnorm_inference(x, gamma, beta, mean, var, eps),
                               bn.eval()(x), **EXACT)


@SETTINGS
@given(seed=seeds, n=st.integers(1, 3), c=st.integers(1, 9), size=st.sampled_from([1, 3, 5, 7]),
       k=st.sampled_from([1.0, 2.0]), alpha=st.sampled_from([1e-4, 0.05, 0.3]), beta=st.sampled_from([0.5, 0.75]))
def test_lrn_matches_local_response_norm_with_alpha_times_n(seed, n, c, size, k, alpha, beta):
    x, dout = tensor(seed, n, c, 3, 2, scale=3.0), tensor(seed + 1, n, c, 3, 2)
    out, cache = layers.lrn_forward(x, k, size, alpha, beta)
    module = torch.nn.LocalResponseNorm(size, alpha=alpha * size, beta=beta, k=k)  # torch divides alpha by n
    xs = x.clone().requires_grad_(True)
    with torch.enable_grad():
        ref = module(xs)
        ref.backward(dout)
    torch.testing.assert_close(out, ref.detach(), **EXACT)
    torch.testing.assert_close(layers.lrn_backward(dout, cache), xs.grad, **EXACT)


def test_lrn_is_the_papers_formula_with_its_constants():
    x = tensor(3, 1, 7, 2, 2, scale=30.0)
    out, _ = layers.lrn_forward(x)  # defaults: k=2, n=5, alpha=1e-4, beta=0.75
    expected = torch.empty_like(x)
    for i in range(7):
        lo, hi = max(0, i - 2), min(6, i + 2)
        expected[:, i] = x[:, i] / (2.0 + 1e-4 * (x[:, lo:hi + 1] ** 2).sum(1)) ** 0.75
    torch.testing.assert_close(out, expected, **EXACT)
    assert (out - x / 2.0 ** 0.75).abs().max() > 1e-3  # the normalization is not negligible here


def test_lrn_backward_matches_finite_differences():
    x, dout = tensor(5, 2, 6, 2, 3, scale=2.0), tensor(6, 2, 6, 2, 3)
    _, cache = layers.lrn_forward(x, 1.5, 5, 0.2, 0.75)
    expected = numeric_grad(lambda v: layers.lrn_forward(v, 1.5, 5, 0.2, 0.75)[0], x, dout)
    torch.testing.assert_close(layers.lrn_backward(dout, cache), expected, rtol=1e-6, atol=1e-8)


@SETTINGS
@given(seed=seeds, p=st.sampled_from([0.1, 0.5, 0.8]), shape=st.sampled_from([(4, 5), (2, 3, 4, 4)]))
def test_dropout_keeps_where_noise_is_at_least_p_and_rescales(seed, p, shape):
    x, noise, dout = tensor(seed, *shape), torch.rand(shape, generator=torch.Generator().manual_seed(seed),
                                                      dtype=F64), tensor(seed + 1, *shape)
    out, cache = layers.dropout_forward(x, p, noise, train=True)
    keep = noise >= p
    torch.testing.assert_close(out, torch.where(keep, x / (1 - p), torch.zeros_like(x)), **EXACT)
    torch.testing.assert_close(layers.dropout_backward(dout, cache), torch.where(keep, dout / (1 - p), 0.0), **EXACT)
    out, cache = layers.dropout_forward(x, p, noise, train=False)
    assert torch.equal(out, x) and torch.equal(layers.dropout_backward(dout, cache), dout)


def test_dropout_zeroes_about_p_and_keeps_the_mean():
    g = torch.Generator().manual_seed(0)
    x = torch.rand(400, 500, generator=g, dtype=F64) + 0.5
    for p in (0.2, 0.5, 0.8):
        out, _ = layers.dropout_forward(x, p, torch.rand(x.shape, generator=g, dtype=F64))
        assert abs(float((out == 0).to(F64).mean()) - p) < 0.01
        assert abs(float(out.mean() / x.mean()) - 1.0) < 0.01


def distinct(seed: int, *shape: int) -> torch.Tensor:
    """No ties: torch routes a tie's gradient to the first maximum only."""
    g = torch.Generator().manual_seed(seed)
    count = torch.Size(shape).numel()
    return (torch.randperm(count, generator=g).to(F64).reshape(shape) - count / 2) * 0.1


@SETTINGS
@given(seed=seeds, n=st.integers(1, 3), c=st.integers(1, 3), h=st.integers(4, 9), w=st.integers(4, 9),
       window=st.sampled_from([(3, 2), (2, 2), (3, 1), (4, 3), (2, 1)]))
def test_max_pool_matches_max_pool2d_and_autograd(seed, n, c, h, w, window):
    kernel, stride = window
    x = distinct(seed, n, c, h, w)
    out, cache = layers.max_pool_forward(x, kernel, stride)
    xs = x.clone().requires_grad_(True)
    with torch.enable_grad():
        ref = F.max_pool2d(xs, kernel, stride)
        dout = tensor(seed + 1, *ref.shape)
        ref.backward(dout)
    assert out.shape == ref.shape
    torch.testing.assert_close(out, ref.detach(), rtol=0, atol=0)
    torch.testing.assert_close(layers.max_pool_backward(dout, cache), xs.grad, **EXACT)


def test_overlapping_pooling_sums_the_gradients_of_every_window_an_element_wins():
    x = torch.zeros(1, 1, 5, 5, dtype=F64)
    x[0, 0, 2, 2] = 1.0  # the centre is in all four 3x3 windows of stride 2, and wins them all
    x[0, 0] += torch.arange(25, dtype=F64).reshape(5, 5) * 1e-3  # no ties elsewhere
    out, cache = layers.max_pool_forward(x, 3, 2)
    assert out.shape == (1, 1, 2, 2)
    dx = layers.max_pool_backward(torch.tensor([[[[1.0, 2.0], [3.0, 4.0]]]], dtype=F64), cache)
    assert float(dx[0, 0, 2, 2]) == 10.0 and float(dx.abs().sum()) == 10.0


@st.composite
def grouped_geometry(draw):
    groups = draw(st.integers(1, 3))
    cg, fg = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    stride, pad = draw(st.integers(1, 4)), draw(st.integers(0, 2))
    h, w = draw(st.integers(1, 9)), draw(st.integers(1, 9))
    kh, kw = draw(st.integers(1, min(5, h + 2 * pad))), draw(st.integers(1, min(5, w + 2 * pad)))
    return draw(st.integers(1, 3)), groups, cg, fg, h, w, kh, kw, stride, pad


@SETTINGS
@given(geometry=grouped_geometry(), seed=seeds)
def test_grouped_conv_matches_conv2d_and_torch_gradients(geometry, seed):
    n, groups, cg, fg, h, w, kh, kw, stride, pad = geometry
    x, wt, b = tensor(seed, n, groups * cg, h, w), tensor(seed + 1, groups * fg, cg, kh, kw), tensor(seed + 2, groups * fg)
    out, cache = layers.conv_forward(x, wt, b, stride, pad, groups)
    ref = F.conv2d(x, wt, b, stride=stride, padding=pad, groups=groups)
    assert out.shape == ref.shape and out.dtype == F64
    torch.testing.assert_close(out, ref, **EXACT)
    dout = tensor(seed + 3, *ref.shape)
    dx, dw, db = layers.conv_backward(dout, cache)
    torch.testing.assert_close(dx, torch.nn.grad.conv2d_input(x.shape, wt, dout, stride, pad, groups=groups), **EXACT)
    torch.testing.assert_close(dw, torch.nn.grad.conv2d_weight(x, wt.shape, dout, stride, pad, groups=groups), **EXACT)
    torch.testing.assert_close(db, dout.sum((0, 2, 3)), **EXACT)


def test_conv_backward_matches_finite_differences():
    x, wt, b = tensor(1, 1, 4, 5, 4), tensor(2, 6, 2, 3, 2), tensor(3, 6)
    _, cache = layers.conv_forward(x, wt, b, 2, 1, 2)
    out, _ = layers.conv_forward(x, wt, b, 2, 1, 2)
    dout = tensor(4, *out.shape)
    dx, dw, db = layers.conv_backward(dout, cache)
    torch.testing.assert_close(dx, numeric_grad(lambda v: layers.conv_forward(v, wt, b, 2, 1, 2)[0], x, dout),
                               rtol=1e-6, atol=1e-8)
    torch.testing.assert_close(dw, numeric_grad(lambda v: layers.conv_forward(x, v, b, 2, 1, 2)[0], wt, dout),
                               rtol=1e-6, atol=1e-8)
    torch.testing.assert_close(db, numeric_grad(lambda v: layers.conv_forward(x, wt, v, 2, 1, 2)[0], b, dout),
                               rtol=1e-6, atol=1e-8)


def test_alexnet_shape_table_and_parameter_counts():
    shapes = dict(alexnet.layer_shapes(alexnet.ALEXNET))
    assert [shapes[k] for k in ("conv1", "pool1", "conv2", "pool2", "conv3", "conv4", "conv5", "pool5")] == [
        (96, 55, 55), (96, 27, 27), (256, 27, 27), (256, 13, 13), (384, 13, 13), (384, 13, 13), (256, 13, 13),
        (256, 6, 6)]
    counts = alexnet.param_counts(alexnet.ALEXNET)
    assert list(counts.values()) == [34_944, 307_456, 885_120, 663_936, 442_624, 37_752_832, 16_781_312, 4_097_000]
    assert sum(counts.values()) == 60_965_224
    assert sum(alexnet.param_counts(alexnet.ungrouped(alexnet.ALEXNET)).values()) == 62_378_344
    assert alexnet.ALEXNET[4]["groups"] == 2  # ungrouped() copies, it does not edit the table
    with pytest.raises(ValueError, match="groups"):
        alexnet.layer_shapes([{"name": "c", "type": "conv", "filters": 4, "kernel": 3, "stride": 1, "pad": 0,
                               "groups": 2}], (3, 8, 8))


TINY = [dict(spec) for spec in alexnet.ALEXNET]
for spec, filters in zip((s for s in TINY if s["type"] == "conv"), (4, 6, 4, 4, 2)):
    spec["filters"] = filters
TINY[0].update(kernel=5, stride=2)
for spec, units in zip((s for s in TINY if s["type"] == "fc"), (7, 7, 5)):
    spec["units"] = units
for spec in TINY:
    if spec["type"] == "lrn":
        spec.update(alpha=0.05, n=3)
TINY_INPUT = (3, 35, 35)


def torch_alexnet(x, params, masks, arch, p):
    """The same network from torch ops, so autograd gives the gradients."""
    params, masks = iter(params), iter(masks)
    for spec in arch:
        kind = spec["type"]
        if kind == "conv":
            w, b = next(params)
            x = F.conv2d(x, w, b, stride=spec["stride"], padding=spec["pad"], groups=spec["groups"])
        elif kind == "relu":
            x = F.relu(x)
        elif kind == "lrn":
            x = F.local_response_norm(x, spec["n"], alpha=spec["alpha"] * spec["n"], beta=spec["beta"], k=spec["k"])
        elif kind == "pool":
            x = F.max_pool2d(x, spec["kernel"], spec["stride"])
        elif kind == "flatten":
            x = torch.flatten(x, 1)
        elif kind == "fc":
            w, b = next(params)
            x = x @ w + b
        elif kind == "dropout":
            x = x * (next(masks) >= p) / (1 - p)
    return x


@pytest.mark.parametrize("train", [True, False])
def test_small_alexnet_matches_torch_ops_and_autograd(train):
    g = torch.Generator().manual_seed(3)
    params = [(w, b + 0.1 * torch.randn(b.shape, generator=g, dtype=F64))
              for w, b in alexnet.init_params(TINY, g, TINY_INPUT, dtype=F64)]
    x = torch.randn(2, *TINY_INPUT, generator=g, dtype=F64)
    noise = [torch.rand(2, 7, generator=g, dtype=F64) for _ in range(2)]
    scores, cache = alexnet.alexnet_forward(x, params, noise if train else None, TINY, p=0.5, train=train)
    leaves = [t.clone().requires_grad_(True) for pair in params for t in pair]
    with torch.enable_grad():
        ref = torch_alexnet(x, list(zip(leaves[::2], leaves[1::2])), noise if train else [], TINY if train else
                            [s for s in TINY if s["type"] != "dropout"], 0.5)
        dout = torch.randn(ref.shape, generator=g, dtype=F64)
        ref.backward(dout)
    assert scores.shape == (2, 5)
    torch.testing.assert_close(scores, ref.detach(), **EXACT)
    grads = alexnet.alexnet_backward(dout, cache)
    assert len(grads) == 8
    for (dw, db), w, b in zip(grads, leaves[::2], leaves[1::2]):
        torch.testing.assert_close(dw, w.grad, rtol=1e-9, atol=1e-10)
        torch.testing.assert_close(db, b.grad, rtol=1e-9, atol=1e-10)


def test_functions_keep_float32_and_leave_their_inputs_alone():
    g = torch.Generator().manual_seed(0)
    params = alexnet.init_params(TINY, g, TINY_INPUT)
    x = torch.randn(1, *TINY_INPUT, generator=g)
    before = [t.clone() for pair in params for t in pair] + [x.clone()]
    noise = [torch.rand(1, 7, generator=g) for _ in range(2)]
    scores, cache = alexnet.alexnet_forward(x, params, noise, TINY)
    grads = alexnet.alexnet_backward(torch.ones_like(scores), cache)
    assert scores.dtype == torch.float32 and all(t.dtype == torch.float32 for pair in grads for t in pair)
    assert all(torch.equal(a, b) for a, b in zip(before, [t for pair in params for t in pair] + [x]))
    out, _ = batchnorm.spatial_batchnorm_forward(torch.randn(2, 3, 2, 2, generator=g), torch.ones(3), torch.zeros(3))
    assert out.dtype == torch.float32


@pytest.mark.cuda
def test_layers_run_on_cuda_like_on_cpu():
    g = torch.Generator().manual_seed(0)
    params = alexnet.init_params(TINY, g, TINY_INPUT, dtype=F64)
    x = torch.randn(2, *TINY_INPUT, generator=g, dtype=F64)
    noise = [torch.rand(2, 7, generator=g, dtype=F64) for _ in range(2)]
    scores, cache = alexnet.alexnet_forward(x, params, noise, TINY)
    grads = alexnet.alexnet_backward(torch.ones_like(scores), cache)
    on = [(w.cuda(), b.cuda()) for w, b in params]
    scores_gpu, cache_gpu = alexnet.alexnet_forward(x.cuda(), on, [t.cuda() for t in noise], TINY)
    grads_gpu = alexnet.alexnet_backward(torch.ones_like(scores_gpu), cache_gpu)
    assert scores_gpu.device.type == "cuda"
    torch.testing.assert_close(scores_gpu.cpu(), scores, rtol=1e-9, atol=1e-10)
    for (dw, db), (dwg, dbg) in zip(grads, grads_gpu):
        torch.testing.assert_close(dwg.cpu(), dw, rtol=1e-9, atol=1e-10)
        torch.testing.assert_close(dbg.cpu(), db, rtol=1e-9, atol=1e-10)
    x2 = shifted(1, 4, 3, 2, 2)
    out, cache = batchnorm.spatial_batchnorm_forward(x2.cuda(), torch.ones(3, dtype=F64).cuda(),
                                                     torch.zeros(3, dtype=F64).cuda())
    ref, _ = batchnorm.spatial_batchnorm_forward(x2, torch.ones(3, dtype=F64), torch.zeros(3, dtype=F64))
    torch.testing.assert_close(out.cpu(), ref, **EXACT)
