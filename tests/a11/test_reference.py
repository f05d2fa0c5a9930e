"""a11 reference against ground truth: F.scaled_dot_product_attention, nn.MultiheadAttention, nn.LayerNorm,
nn.TransformerEncoderLayer / DecoderLayer, autograd, finite differences, scipy's linear_sum_assignment, brute force."""
from __future__ import annotations

import itertools
import math

import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st

from reference.a11_transformer import attention, detr, layers, transformer, vision
from tests.helpers import numeric_grad
from tests.strategies import seeds, tensor

F64 = torch.float64
SETTINGS = settings(max_examples=5, deadline=None)
CLOSE = dict(rtol=1e-9, atol=1e-11)


def with_grads(fn, *inputs, dout):
    """fn(*inputs) and the gradients of sum(fn * dout) with respect to every input, by autograd."""
    leaves = [x.detach().clone().requires_grad_(True) for x in inputs]
    with torch.enable_grad():
        out = fn(*leaves)
        out.backward(dout)
    return out.detach(), [x.grad for x in leaves]


def keep_one(mask: torch.Tensor, seed: int) -> torch.Tensor:
    """A bool mask with at least one True (may attend) in every row."""
    g = torch.Generator().manual_seed(seed)
    keep = torch.randint(0, mask.shape[-1], mask.shape[:-1], generator=g)
    return mask.scatter(-1, keep.unsqueeze(-1), True)


def masks(kind: str, seed: int, *shape: int):
    g = torch.Generator().manual_seed(seed)
    if kind == "none":
        return None
    if kind == "bool":
        return keep_one(torch.rand(*shape, generator=g) < 0.5, seed)
    if kind == "causal":
        return torch.ones(shape[-2], shape[-1], dtype=torch.bool).tril()
    additive = torch.randn(*shape, generator=g, dtype=F64) * 2  # "float": with -inf (removed keys) too
    return additive.masked_fill(~keep_one(torch.rand(*shape, generator=g) < 0.6, seed + 1), float("-inf"))


# Scaled dot-product attention.

@pytest.mark.parametrize("kind", ["none", "bool", "causal", "float"])
@SETTINGS
@given(seed=seeds, t=st.integers(2, 5), s=st.integers(2, 6), heads=st.integers(1, 3))
def test_attention_matches_scaled_dot_product_attention_and_autograd(kind, seed, t, s, heads):
    s = t if kind == "causal" else s
    q, k, v = tensor(seed, 2, heads, t, 3), tensor(seed + 1, 2, heads, s, 3), tensor(seed + 2, 2, heads, s, 4)
    mask, dout = masks(kind, seed, t, s), tensor(seed + 3, 2, heads, t, 4)
    ref, (dq_ref, dk_ref, dv_ref) = with_grads(lambda a, b, c: F.scaled_dot_product_attention(a, b, c, attn_mask=mask),
                                               q, k, v, dout=dout)
    out, cache = attention.attention_forward(q, k, v, mask)
    torch.testing.assert_close(out, ref, **CLOSE)
    dq, dk, dv = attention.attention_backward(dout, cache)
    for got, want in ((dq, dq_ref), (dk, dk_ref), (dv, dv_ref)):
        torch.testing.assert_close(got, want, **CLOSE)


def test_attention_backward_matches_finite_differences_and_scales_by_root_dk():
    q, k, v, dout = tensor(1, 2, 4, 5), tensor(2, 2, 3, 5), tensor(3, 2, 3, 2), tensor(4, 2, 4, 2)
    mask = masks("bool", 5, 4, 3)
    _, cache = attention.attention_forward(q, k, v, mask)
    dq, dk, dv = attention.attention_backward(dout, cache)
    for i, (got, x) in enumerate(((dq, q), (dk, k), (dv, v))):
        def f(p, i=i):
            args = [q, k, v]
            args[i] = p
            return attention.attention_forward(*args, mask)[0]
        torch.testing.assert_close(got, numeric_grad(f, x, dout), rtol=1e-6, atol=1e-8)
    weights = cache[3]
    scores = (q @ k.transpose(-2, -1)) / math.sqrt(5)
    torch.testing.assert_close(weights, torch.softmax(scores.masked_fill(~mask, float("-inf")), -1), **CLOSE)
    assert (weights[..., ~mask] == 0).all()


# Multi-head attention.

def torch_mha(e: int, heads: int, seed: int) -> nn.MultiheadAttention:
    torch.manual_seed(seed)
    mha = nn.MultiheadAttention(e, heads, batch_first=True, dtype=F64)
    with torch.no_grad():
        mha.in_proj_bias.normal_()
        mha.out_proj.bias.normal_()
    return mha


def mha_weights(mha: nn.MultiheadAttention) -> list[torch.Tensor]:
    return [mha.in_proj_weight, mha.in_proj_bias, mha.out_proj.weight, mha.out_proj.bias]


@pytest.mark.parametrize("kind", ["none", "bool", "causal", "float"])
@SETTINGS
@given(seed=seeds, heads=st.sampled_from([1, 2, 3]), d=st.integers(2, 3), t=st.integers(2, 5), s=st.integers(2, 5))
def test_multi_head_attention_matches_nn_multihead_attention(kind, seed, heads, d, t, s):
    e, n = heads * d, 2
    s = t if kind == "causal" else s
    mha = torch_mha(e, heads, seed)
    query, key, value, dout = tensor(seed, n, t, e), tensor(seed + 1, n, s, e), tensor(seed + 2, n, s, e), \
        tensor(seed + 3, n, t, e)
    mask = masks(kind, seed, t, s)
    torch_mask = None if mask is None else (~mask if mask.dtype == torch.bool else mask)  # torch: True = masked out
    params = [p.detach() for p in mha_weights(mha)]
    query_, key_, value_ = (x.clone().requires_grad_(True) for x in (query, key, value))
    with torch.enable_grad():
        ref, ref_w = mha(query_, key_, value_, attn_mask=torch_mask, average_attn_weights=False)
        ref.backward(dout)
    out, cache = attention.multi_head_attention_forward(query, key, value, *params, heads, mask)
    torch.testing.assert_close(out, ref.detach(), **CLOSE)
    torch.testing.assert_close(attention.attention_weights(cache), ref_w.detach(), **CLOSE)  # per head
    grads = attention.multi_head_attention_backward(dout, cache)
    wants = [query_.grad, key_.grad, value_.grad] + [p.grad for p in mha_weights(mha)]
    for got, want in zip(grads, wants):
        torch.testing.assert_close(got, want, **CLOSE)


def test_per_example_mask_and_head_averaged_weights_match_torch():
    n, t, s, heads, d = 3, 4, 5, 2, 3
    mha = torch_mha(heads * d, heads, 7)
    x, mem = tensor(8, n, t, heads * d), tensor(9, n, s, heads * d)
    mask = masks("bool", 10, n, t, s)
    with torch.no_grad():
        ref, ref_w = mha(x, mem, mem, attn_mask=(~mask).repeat_interleave(heads, 0))  # torch: (N * h, T, S)
    out, cache = attention.multi_head_attention_forward(x, mem, mem, *[p.detach() for p in mha_weights(mha)],
                                                        heads, mask)
    torch.testing.assert_close(out, ref, **CLOSE)
    torch.testing.assert_close(attention.attention_weights(cache).mean(1), ref_w, **CLOSE)


def test_self_attention_without_positions_is_permutation_equivariant():
    heads, e, t = 2, 6, 7
    params = [p.detach() for p in mha_weights(torch_mha(e, heads, 3))]
    x, perm = tensor(4, 2, t, e), torch.randperm(t, generator=torch.Generator().manual_seed(5))
    out, _ = attention.multi_head_attention_forward(x, x, x, *params, heads)
    out_p, _ = attention.multi_head_attention_forward(x[:, perm], x[:, perm], x[:, perm], *params, heads)
    torch.testing.assert_close(out_p, out[:, perm], **CLOSE)


# Positional encoding, layer norm, feed-forward.

@pytest.mark.parametrize("length,d_model", [(1, 4), (9, 6), (30, 7), (100, 16)])
def test_positional_encoding_is_the_papers_formula(length, d_model):
    pe = layers.positional_encoding(length, d_model)
    assert pe.shape == (length, d_model) and pe.dtype == F64
    for pos in range(length):
        for j in range(d_model):
            angle = pos / 10000 ** ((j - j % 2) / d_model)
            assert abs(float(pe[pos, j]) - (math.sin(angle) if j % 2 == 0 else math.cos(angle))) < 1e-12


@SETTINGS
@given(seed=seeds, n=st.integers(1, 3), t=st.integers(1, 4), d=st.integers(2, 6), eps=st.sampled_from([1e-5, 0.1]))
def test_layer_norm_matches_nn_layer_norm_and_autograd(seed, n, t, d, eps):
    ln = nn.LayerNorm(d, eps=eps, dtype=F64)
    gamma, beta = tensor(seed, d), tensor(seed + 1, d)
    x, dout = tensor(seed + 2, n, t, d, scale=3.0) + 2.0, tensor(seed + 3, n, t, d)
    ref, (dx_ref, dg_ref, db_ref) = with_grads(lambda a, w, b: F.layer_norm(a, (d,), w, b, eps), x, gamma, beta,
                                               dout=dout)
    with torch.no_grad():
        ln.weight.copy_(gamma)
        ln.bias.copy_(beta)
        torch.testing.assert_close(ln(x), ref, **CLOSE)
    out, cache = layers.layer_norm_forward(x, gamma, beta, eps)
    torch.testing.assert_close(out, ref, **CLOSE)
    for got, want in zip(layers.layer_norm_backward(dout, cache), (dx_ref, dg_ref, db_ref)):
        torch.testing.assert_close(got, want, **CLOSE)


def test_layer_norm_backward_matches_finite_differences():
    x, gamma, beta, dout = tensor(1, 2, 3, 4) * 2 + 1, tensor(2, 4), tensor(3, 4), tensor(4, 2, 3, 4)
    _, cache = layers.layer_norm_forward(x, gamma, beta)
    dx, _, _ = layers.layer_norm_backward(dout, cache)
    torch.testing.assert_close(dx, numeric_grad(lambda v: layers.layer_norm_forward(v, gamma, beta)[0], x, dout),
                               rtol=1e-6, atol=1e-8)


def test_feed_forward_matches_linear_relu_linear():
    x, w1, b1, w2, b2, dout = tensor(1, 2, 3, 4), tensor(2, 7, 4), tensor(3, 7), tensor(4, 4, 7), tensor(5, 4), \
        tensor(6, 2, 3, 4)
    ref, grads_ref = with_grads(lambda a, p, q, r, s: F.linear(F.relu(F.linear(a, p, q)), r, s), x, w1, b1, w2, b2,
                                dout=dout)
    out, cache = layers.feed_forward_forward(x, w1, b1, w2, b2)
    torch.testing.assert_close(out, ref, **CLOSE)
    for got, want in zip(layers.feed_forward_backward(dout, cache), grads_ref):
        torch.testing.assert_close(got, want, **CLOSE)


# Encoder and decoder layers.

def torch_layer(cls, e: int, heads: int, f: int, norm_first: bool, seed: int):
    torch.manual_seed(seed)
    layer = cls(e, heads, f, dropout=0.0, batch_first=True, norm_first=norm_first, dtype=F64)
    with torch.no_grad():
        for p in layer.parameters():
            p.add_(torch.randn_like(p) * 0.2)  # biases and norms away from 0 and 1
    return layer


def layer_params(layer) -> dict:
    return {k.replace(".", "_"): v.detach().clone() for k, v in layer.named_parameters()}


@pytest.mark.parametrize("norm_first", [False, True], ids=["post-LN", "pre-LN"])
@pytest.mark.parametrize("kind", ["none", "causal", "float"])
def test_encoder_layer_matches_transformer_encoder_layer(norm_first, kind):
    n, t, heads, e = 2, 5, 2, 6
    layer = torch_layer(nn.TransformerEncoderLayer, e, heads, 9, norm_first, 1)
    mask = masks(kind, 2, t, t)
    torch_mask = None if mask is None else (~mask if mask.dtype == torch.bool else mask)
    x, dout = tensor(3, n, t, e), tensor(4, n, t, e)
    x_ = x.clone().requires_grad_(True)
    with torch.enable_grad():
        ref = layer(x_, src_mask=torch_mask)
        ref.backward(dout)
    params = layer_params(layer)
    assert set(params) == set(transformer.ENCODER_KEYS)
    out, cache = transformer.encoder_layer_forward(x, params, heads, mask, norm_first)
    torch.testing.assert_close(out, ref.detach(), **CLOSE)
    dx, grads = transformer.encoder_layer_backward(dout, cache)
    torch.testing.assert_close(dx, x_.grad, **CLOSE)
    for name, p in layer.named_parameters():
        torch.testing.assert_close(grads[name.replace(".", "_")], p.grad, **CLOSE)


@pytest.mark.parametrize("norm_first", [False, True], ids=["post-LN", "pre-LN"])
def test_decoder_layer_matches_transformer_decoder_layer(norm_first):
    n, t, s, heads, e = 2, 4, 6, 3, 6
    layer = torch_layer(nn.TransformerDecoderLayer, e, heads, 8, norm_first, 5)
    tgt_mask, memory_mask = transformer.causal_mask(t), masks("bool", 6, t, s)
    x, memory, dout = tensor(7, n, t, e), tensor(8, n, s, e), tensor(9, n, t, e)
    x_, memory_ = x.clone().requires_grad_(True), memory.clone().requires_grad_(True)
    with torch.enable_grad():
        ref = layer(x_, memory_, tgt_mask=~tgt_mask, memory_mask=~memory_mask)
        ref.backward(dout)
    params = layer_params(layer)
    assert set(params) == set(transformer.DECODER_KEYS)
    out, cache = transformer.decoder_layer_forward(x, memory, params, heads, tgt_mask, memory_mask, norm_first)
    torch.testing.assert_close(out, ref.detach(), **CLOSE)
    dx, dmemory, grads = transformer.decoder_layer_backward(dout, cache)
    torch.testing.assert_close(dx, x_.grad, **CLOSE)
    torch.testing.assert_close(dmemory, memory_.grad, **CLOSE)
    for name, p in layer.named_parameters():
        torch.testing.assert_close(grads[name.replace(".", "_")], p.grad, **CLOSE)


def test_causal_decoder_jacobian_is_zero_above_the_diagonal():
    n, t, s, heads, e = 1, 5, 3, 2, 4
    params = layer_params(torch_layer(nn.TransformerDecoderLayer, e, heads, 6, False, 11))
    x, memory = tensor(12, n, t, e), tensor(13, n, s, e)
    out, cache = transformer.decoder_layer_forward(x, memory, params, heads, transformer.causal_mask(t))
    for pos in range(t):
        dout = torch.zeros_like(out)
        dout[:, pos] = tensor(14 + pos, n, e)
        dx = transformer.decoder_layer_backward(dout, cache)[0]
        assert (dx[:, pos + 1:] == 0).all()  # exactly: masked weights are exp(-inf) = 0
        assert (dx[:, :pos + 1].abs().sum(-1) > 0).all()


# Attention in vision.

VISION = {
    "spatial": (vision.spatial_attention_forward, vision.spatial_attention_backward,
                lambda s: [tensor(s, 2, 3, 4, 5), tensor(s + 1, 2, 6), tensor(s + 2, 7, 3), tensor(s + 3, 7),
                           tensor(s + 4, 7, 6), tensor(s + 5, 7)]),
    "channel": (vision.channel_attention_forward, vision.channel_attention_backward,
                lambda s: [tensor(s, 2, 3, 4, 5) + 1, tensor(s + 1, 2, 6), tensor(s + 2, 7), tensor(s + 3, 7),
                           tensor(s + 4, 7, 6), tensor(s + 5, 7)]),
    "split, radix 3": (lambda x, *w: vision.split_attention_forward(x, *w, 3), vision.split_attention_backward,
                       lambda s: [tensor(s, 2, 12, 3, 5), tensor(s + 1, 5, 4), tensor(s + 2, 5), tensor(s + 3, 12, 5),
                                  tensor(s + 4, 12)]),
    "split, radix 1": (lambda x, *w: vision.split_attention_forward(x, *w, 1), vision.split_attention_backward,
                       lambda s: [tensor(s, 2, 4, 3, 5), tensor(s + 1, 5, 4), tensor(s + 2, 5), tensor(s + 3, 4, 5),
                                  tensor(s + 4, 4)]),
}


@pytest.mark.parametrize("name", list(VISION))
def test_vision_attention_backward_matches_autograd_and_finite_differences(name):
    forward, backward, make = VISION[name]
    inputs = make(3)
    out, cache = forward(*inputs)
    dout = tensor(99, *out.shape)
    ref, grads_ref = with_grads(lambda *a: forward(*a)[0], *inputs, dout=dout)
    torch.testing.assert_close(out, ref, **CLOSE)
    grads = backward(dout, cache)
    assert len(grads) == len(inputs)
    for got, want in zip(grads, grads_ref):
        torch.testing.assert_close(got, want, **CLOSE)
    torch.testing.assert_close(grads[0], numeric_grad(lambda v: forward(v, *inputs[1:])[0], inputs[0], dout),
                               rtol=1e-6, atol=1e-8)


def test_sca_cnn_weights_are_softmaxes_over_positions_and_channels():
    v, h = tensor(1, 2, 3, 4, 5), tensor(2, 2, 6)
    out, cache = vision.spatial_attention_forward(v, h, tensor(3, 7, 3), tensor(4, 7), tensor(5, 7, 6), tensor(6, 7))
    alpha = cache[-1]
    torch.testing.assert_close(alpha.sum(1), torch.ones(2, dtype=F64), **CLOSE)
    torch.testing.assert_close(out, v * alpha.reshape(2, 1, 4, 5), **CLOSE)
    out, cache = vision.channel_attention_forward(v, h, tensor(3, 7), tensor(4, 7), tensor(5, 7, 6), tensor(6, 7))
    beta = cache[-1]
    torch.testing.assert_close(beta.sum(1), torch.ones(2, dtype=F64), **CLOSE)
    torch.testing.assert_close(out, v * beta[:, :, None, None], **CLOSE)


def test_split_attention_radix_one_is_a_squeeze_and_excitation_gate_and_weights_sum_to_one():
    x, w1, b1, w2, b2 = tensor(1, 2, 6, 3, 4), tensor(2, 4, 6), tensor(3, 4), tensor(4, 6, 4), tensor(5, 6)
    out, _ = vision.split_attention_forward(x, w1, b1, w2, b2, 1)
    se = x * torch.sigmoid(F.relu(x.mean((2, 3)) @ w1.T + b1) @ w2.T + b2)[:, :, None, None]
    torch.testing.assert_close(out, se, **CLOSE)
    x = tensor(6, 2, 12, 3, 4)  # radix 2, C = 6: equal splits give out = split (the weights sum to one)
    x[:, 6:] = x[:, :6]
    out, _ = vision.split_attention_forward(x, w1, b1, tensor(7, 12, 4), tensor(8, 12), 2)
    torch.testing.assert_close(out, x[:, :6], **CLOSE)


# DETR matching.

def giou_of(a, b) -> float:
    """GIoU of two corner boxes, one pair at a time in plain floats."""
    iw = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    ih = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = iw * ih
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    hull = (max(a[2], b[2]) - min(a[0], b[0])) * (max(a[3], b[3]) - min(a[1], b[1]))
    return inter / union - (hull - union) / hull


def random_boxes(seed: int, n: int) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return torch.cat([torch.rand(n, 2, generator=g, dtype=F64) * 0.6 + 0.2,
                      torch.rand(n, 2, generator=g, dtype=F64) * 0.5 + 0.05], 1)


def test_generalized_box_iou_matches_the_pairwise_formula():
    b1, b2 = detr.box_cxcywh_to_xyxy(random_boxes(1, 5)), detr.box_cxcywh_to_xyxy(random_boxes(2, 4))
    got = detr.generalized_box_iou(b1, b2)
    for i, j in itertools.product(range(5), range(4)):
        assert abs(float(got[i, j]) - giou_of(b1[i].tolist(), b2[j].tolist())) < 1e-12
    torch.testing.assert_close(torch.diagonal(detr.generalized_box_iou(b1, b1)), torch.ones(5, dtype=F64), **CLOSE)
    far = torch.tensor([[0.0, 0.0, 1.0, 1.0]], dtype=F64), torch.tensor([[2.0, 0.0, 3.0, 1.0]], dtype=F64)
    assert abs(float(detr.generalized_box_iou(*far)) + 1 / 3) < 1e-12  # disjoint: IoU 0, hull 3, union 2


def test_matching_cost_is_detrs_and_the_matcher_agrees_with_scipy_and_brute_force():
    from scipy.optimize import linear_sum_assignment
    g = torch.Generator().manual_seed(0)
    for q, m in ((6, 3), (5, 5), (4, 1)):
        logits, labels = torch.randn(q, 5, generator=g, dtype=F64), torch.randint(0, 4, (m,), generator=g)
        pb, tb = random_boxes(q, q), random_boxes(q + 1, m)
        cost = detr.matching_cost(logits, pb, labels, tb)
        want = 5 * torch.cdist(pb, tb, p=1) - logits.softmax(-1)[:, labels] \
            - 2 * detr.generalized_box_iou(detr.box_cxcywh_to_xyxy(pb), detr.box_cxcywh_to_xyxy(tb))
        torch.testing.assert_close(cost, want, **CLOSE)
        pred_idx, tgt_idx = detr.bipartite_match(logits, pb, labels, tb)
        rows, cols = linear_sum_assignment(want.numpy())
        assert pred_idx.tolist() == rows.tolist() and tgt_idx.tolist() == cols.tolist()
        best = min(itertools.permutations(range(q), m), key=lambda p: sum(float(want[p[j], j]) for j in range(m)))
        assert sorted(zip(pred_idx.tolist(), tgt_idx.tolist())) == sorted((best[j], j) for j in range(m))


@settings(max_examples=30, deadline=None)
@given(seed=seeds, r=st.integers(1, 6), s=st.integers(1, 6))
def test_hungarian_match_is_optimal_like_scipy(seed, r, s):
    from scipy.optimize import linear_sum_assignment
    cost = tensor(seed, r, s)
    rows, cols = detr.hungarian_match(cost)
    assert rows.dtype == cols.dtype == torch.int64
    ref_rows, ref_cols = linear_sum_assignment(cost.numpy())
    assert rows.tolist() == ref_rows.tolist() and cols.tolist() == ref_cols.tolist()
