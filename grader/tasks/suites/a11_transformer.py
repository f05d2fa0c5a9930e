"""What a11 (the transformer, attention in vision) checks: inputs for each task, and how each task is run.

Sizes are distinct (Tq != Tk, d_k != d_v, N != T != E, C != H != W) so a wrong axis or a wrong head
split cannot have the right shape or value, d_k >= 2 so a missing 1 / sqrt(d_k) shows, and case 0
has a batch of one. Masks cover none, boolean (True = may attend; every query keeps a key),
causal and additive ones (with -inf entries in the hidden suite); at case ``LARGE_CASE`` every
softmax sees scores near 1e3 (an additive mask or a bias shifted by 1e3, or scores scaled up), so
a softmax that does not subtract its maximum overflows. Layer-norm inputs have a mean and scale of
their own at each position, so statistics over the wrong axis cannot come out right. Encoder and
decoder layers alternate post-LN (even cases) and pre-LN (odd cases). Matching costs are continuous
random values: every optimal assignment is unique. Every task also checks that its function
leaves its inputs unchanged.
"""
from __future__ import annotations

import torch

from grader.tasks.inputs import (LARGE_CASE, batch_size, distinct_dims, large_magnitude, randint, randn, scalar,
                                 uniform, with_dout)
from grader.tasks.model import OutputShapeError, Suite

SUITE = Suite("a11_transformer")
F64 = torch.float64


def bool_mask(g: torch.Generator, *shape: int) -> torch.Tensor:
    """Random True (may attend) / False, every query (row of the last two axes) keeping at least one key."""
    mask = torch.rand(*shape, generator=g) < 0.6
    keep = torch.randint(0, shape[-1], shape[:-1], generator=g)
    return mask.scatter(-1, keep.unsqueeze(-1), True)


def causal(t: int) -> torch.Tensor:
    return torch.ones(t, t, dtype=torch.bool).tril()


def additive_mask(g: torch.Generator, *shape: int, infinite: bool) -> torch.Tensor:
    """A float mask added to the scores: moderate biases, with -inf (a removed key) where ``infinite``."""
    mask = randn(g, *shape, scale=2.0)
    if infinite:
        mask = mask.masked_fill(~bool_mask(g, *shape), float("-inf"))
    return mask


def mask_for(g: torch.Generator, case: int, n: int, tq: int, tk: int) -> torch.Tensor | None:
    """None, bool, additive (shifted by 1e3 at the large case), causal, additive with -inf, per-example bool."""
    kind = case % 6
    if kind == 0:
        return None
    if kind == 1:
        return bool_mask(g, tq, tk)
    if kind == 2:
        return additive_mask(g, n, tq, tk, infinite=False)
    if kind == 3:
        return causal(tq)
    if kind == 4:
        return additive_mask(g, tq, tk, infinite=True)
    return bool_mask(g, n, tq, tk)


# Scaled dot-product attention.

def attention_inputs(g: torch.Generator, case: int) -> dict:
    n = batch_size(g, case, high=3)
    tq, tk, dk, dv = distinct_dims(g, 4, 2, 6)
    if case % 6 == 3:
        tk = tq  # causal: queries and keys are the same positions
    lead = (n,) if case % 2 == 0 else (n, randint(g, 2, 3))  # (N,) or (N, heads)
    mask = mask_for(g, case, n, tq, tk)
    if mask is not None and mask.dim() == 3 and len(lead) == 2:
        mask = mask.unsqueeze(1)  # (N, 1, Tq, Tk): broadcast over the heads
    return {"q": randn(g, *lead, tq, dk), "k": randn(g, *lead, tk, dk), "v": randn(g, *lead, tk, dv), "mask": mask}


def attention_out_shape(kw: dict) -> tuple[int, ...]:
    return tuple(kw["q"].shape[:-1]) + (kw["v"].shape[-1],)


ATTENTION_INPUTS = large_magnitude(attention_inputs, "mask", kind="shift")  # case 2: an additive mask + 1e3

SUITE.call("attention_forward", "attention", ATTENTION_INPUTS)
SUITE.backward("attention_backward", "attention_forward", "attention",
               with_dout(ATTENTION_INPUTS, attention_out_shape), grads=("dq", "dk", "dv"), wrt=("q", "k", "v"))


# Multi-head attention.

def mha_params(g: torch.Generator, e: int) -> dict:
    scale = e ** -0.5
    return {"in_proj_weight": randn(g, 3 * e, e, scale=scale), "in_proj_bias": randn(g, 3 * e, scale=0.1),
            "out_proj_weight": randn(g, e, e, scale=scale), "out_proj_bias": randn(g, e, scale=0.1)}


def mha_inputs(g: torch.Generator, case: int) -> dict:
    n = batch_size(g, case, high=3)
    heads, d = [(2, 3), (3, 2), (2, 4), (4, 2), (3, 3), (1, 5)][case % 6]
    e = heads * d
    tq, tk = distinct_dims(g, 2, 2, 5)
    if case % 6 == 3:
        tk = tq
    return {"query": randn(g, n, tq, e), "key": randn(g, n, tk, e), "value": randn(g, n, tk, e),
            **mha_params(g, e), "num_heads": heads, "mask": mask_for(g, case, n, tq, tk)}


MHA_INPUTS = large_magnitude(mha_inputs, "mask", kind="shift")
MHA_GRADS = ("dquery", "dkey", "dvalue", "din_proj_weight", "din_proj_bias", "dout_proj_weight", "dout_proj_bias")

SUITE.call("multi_head_attention_forward", "attention", MHA_INPUTS, calls=("attention_forward",))
SUITE.backward("multi_head_attention_backward", "multi_head_attention_forward", "attention",
               with_dout(MHA_INPUTS, lambda kw: tuple(kw["query"].shape)), grads=MHA_GRADS,
               wrt=tuple(g[1:] for g in MHA_GRADS), calls=("attention_forward", "attention_backward"))


# Positional encoding, layer norm, feed-forward.

def pe_inputs(g: torch.Generator, case: int) -> dict:
    length, d_model = [(1, 4), (7, 6), (12, 9), (60, 16), (5, 11), (33, 8)][case % 6]
    return {"length": length, "d_model": d_model}


def positions(g: torch.Generator, *shape: int) -> torch.Tensor:
    """Values whose mean and scale differ from position to position (every axis but the last), far
    from 0 and 1, and whose features differ too: statistics over the wrong axis cannot come out right."""
    per_position = shape[:-1] + (1,)
    return randn(g, *shape) * uniform(g, *per_position, low=0.5, high=3.0) + uniform(g, *per_position, low=-4, high=4) \
        + uniform(g, shape[-1], low=-1.0, high=1.0)


def ln_inputs(g: torch.Generator, case: int) -> dict:
    n = batch_size(g, case, high=4)
    t, d = distinct_dims(g, 2, 2, 6)
    shape = (n, d) if case == 4 else (n, t, d)
    return {"x": positions(g, *shape), "gamma": randn(g, d), "beta": randn(g, d),
            "eps": [1e-5, 1e-3, 1e-1][case % 3]}


def ffn_inputs(g: torch.Generator, case: int) -> dict:
    n = batch_size(g, case, high=3)
    t, e, f = distinct_dims(g, 3, 2, 7)
    while True:  # keep every hidden pre-activation clear of the ReLU's kink
        kw = {"x": randn(g, n, t, e), "w1": randn(g, f, e, scale=e ** -0.5), "b1": randn(g, f, scale=0.5),
              "w2": randn(g, e, f, scale=f ** -0.5), "b2": randn(g, e)}
        if float((kw["x"] @ kw["w1"].T + kw["b1"]).abs().min()) > 1e-3:
            return kw


LN_GRADS = dict(grads=("dx", "dgamma", "dbeta"), wrt=("x", "gamma", "beta"))

SUITE.call("positional_encoding", "layers", pe_inputs)
SUITE.call("layer_norm_forward", "layers", ln_inputs)
SUITE.backward("layer_norm_backward", "layer_norm_forward", "layers", with_dout(ln_inputs), **LN_GRADS)
SUITE.call("feed_forward_forward", "layers", ffn_inputs)
SUITE.backward("feed_forward_backward", "feed_forward_forward", "layers", with_dout(ffn_inputs),
               grads=("dx", "dw1", "db1", "dw2", "db2"), wrt=("x", "w1", "b1", "w2", "b2"))


# Encoder and decoder layers.

def layer_params(g: torch.Generator, e: int, f: int, attentions: tuple[str, ...], norms: int) -> dict:
    params = {}
    for prefix in attentions:
        params.update({f"{prefix}_{k}": v for k, v in mha_params(g, e).items()})
    params.update({"linear1_weight": randn(g, f, e, scale=e ** -0.5), "linear1_bias": randn(g, f, scale=0.3),
                   "linear2_weight": randn(g, e, f, scale=f ** -0.5), "linear2_bias": randn(g, e, scale=0.3)})
    for i in range(1, norms + 1):
        params.update({f"norm{i}_weight": 1.0 + randn(g, e, scale=0.3), f"norm{i}_bias": randn(g, e, scale=0.3)})
    return params


def layer_sizes(g: torch.Generator, case: int) -> tuple[int, int, int, int]:
    """(N, T, heads, E): E = heads * d never equal to N or T; F chosen by the caller."""
    n = batch_size(g, case, high=3)
    heads, d = [(2, 3), (3, 2), (2, 2), (2, 4), (3, 3), (4, 2)][case % 6]
    t = randint(g, 3, 5)
    while t in (n, heads * d):
        t += 1
    return n, t, heads, heads * d


def encoder_inputs(g: torch.Generator, case: int) -> dict:
    n, t, heads, e = layer_sizes(g, case)
    mask = [None, causal(t), bool_mask(g, n, t, t), causal(t), additive_mask(g, t, t, infinite=True), None][case % 6]
    return {"x": randn(g, n, t, e), "params": layer_params(g, e, e + 3, ("self_attn",), 2), "num_heads": heads,
            "mask": mask, "norm_first": case % 2 == 1}


def decoder_inputs(g: torch.Generator, case: int) -> dict:
    n, t, heads, e = layer_sizes(g, case)
    s = t + randint(g, 1, 3)  # memory longer than the target
    memory_mask = bool_mask(g, t, s) if case % 3 == 2 else None
    return {"x": randn(g, n, t, e), "memory": randn(g, n, s, e),
            "params": layer_params(g, e, e + 2, ("self_attn", "multihead_attn"), 3), "num_heads": heads,
            "tgt_mask": None if case == 4 else causal(t), "memory_mask": memory_mask, "norm_first": case % 2 == 1}


def named_grads(function: str, grads, keys: tuple[str, ...]) -> dict:
    """A layer's parameter gradients, a dict with every key of its parameters, as outputs ``d<key>``."""
    if not isinstance(grads, dict) or set(grads) != set(keys):
        got = sorted(grads) if isinstance(grads, dict) else type(grads).__name__
        raise OutputShapeError(f"{function} must return a dict of gradients with the keys {sorted(keys)}, got {got}")
    return {f"d{k}": grads[k] for k in keys}


def encoder_backward_run(m, x, params, num_heads, mask, norm_first, dout):
    _, cache = m.transformer.encoder_layer_forward(x, params, num_heads, mask, norm_first)
    result = m.transformer.encoder_layer_backward(dout, cache)
    if not isinstance(result, (tuple, list)) or len(result) != 2:
        raise OutputShapeError("encoder_layer_backward must return (dx, grads)")
    return {"dx": result[0], **named_grads("encoder_layer_backward", result[1], tuple(params))}


def decoder_backward_run(m, x, memory, params, num_heads, tgt_mask, memory_mask, norm_first, dout):
    _, cache = m.transformer.decoder_layer_forward(x, memory, params, num_heads, tgt_mask, memory_mask, norm_first)
    result = m.transformer.decoder_layer_backward(dout, cache)
    if not isinstance(result, (tuple, list)) or len(result) != 3:
        raise OutputShapeError("decoder_layer_backward must return (dx, dmemory, grads)")
    return {"dx": result[0], "dmemory": result[1], **named_grads("decoder_layer_backward", result[2], tuple(params))}


def param_wrt(keys) -> dict:
    return {f"d{k}": f"params.{k}" for k in keys}


ENCODER_KEYS = tuple(layer_params(torch.Generator(), 2, 2, ("self_attn",), 2))
DECODER_KEYS = tuple(layer_params(torch.Generator(), 2, 2, ("self_attn", "multihead_attn"), 3))
LAYER_FORWARDS = ("multi_head_attention_forward", "layer_norm_forward", "feed_forward_forward")
LAYER_BACKWARDS = ("multi_head_attention_backward", "layer_norm_backward", "feed_forward_backward")


def layer_out_shape(kw: dict) -> tuple[int, ...]:
    return tuple(kw["x"].shape)


# No own-gradient diagnosis (``forward``) for the layers: central differences over every weight of a layer
# cost more than the rest of the grading; the tasks in ``calls`` locate a fault.
SUITE.call("encoder_layer_forward", "transformer", encoder_inputs, calls=LAYER_FORWARDS + ("attention_forward",))
SUITE.composite("encoder_layer_backward", "transformer", with_dout(encoder_inputs, layer_out_shape),
                encoder_backward_run, wrt={"dx": "x", **param_wrt(ENCODER_KEYS)}, calls=("encoder_layer_forward",) + LAYER_FORWARDS + LAYER_BACKWARDS
                + ("attention_forward", "attention_backward"))
SUITE.call("decoder_layer_forward", "transformer", decoder_inputs, calls=LAYER_FORWARDS + ("attention_forward",))
SUITE.composite("decoder_layer_backward", "transformer", with_dout(decoder_inputs, layer_out_shape),
                decoder_backward_run, wrt={"dx": "x", "dmemory": "memory", **param_wrt(DECODER_KEYS)}, calls=("decoder_layer_forward",) + LAYER_FORWARDS
                + LAYER_BACKWARDS + ("attention_forward", "attention_backward"))


# Attention in vision.

def feature_map(g: torch.Generator, case: int) -> tuple[int, int, int, int, int, int]:
    """(N, C, H, W, D, K), C, H, W distinct and the hidden and attention sizes D, K distinct from C."""
    n = batch_size(g, case, high=3)
    c, h, w, d, k = distinct_dims(g, 5, 2, 6)
    return n, c, h, w, d, k


def sca_inputs(kind: str):
    def make(g: torch.Generator, case: int) -> dict:
        n, c, h, w, d, k = feature_map(g, case)
        w_i = randn(g, k, scale=300.0 if case == LARGE_CASE else 1.0)  # scores near 1e3: a naive exp overflows
        if kind == "spatial":
            return {"v": randn(g, n, c, h, w), "h": randn(g, n, d), "w_s": randn(g, k, c, scale=c ** -0.5),
                    "b_s": randn(g, k, scale=0.3), "w_hs": randn(g, k, d, scale=d ** -0.5), "w_i": w_i}
        return {"v": randn(g, n, c, h, w, scale=1.5) + uniform(g, 1, c, 1, 1, low=-2, high=2), "h": randn(g, n, d),
                "w_c": randn(g, k), "b_c": randn(g, k, scale=0.3), "w_hc": randn(g, k, d, scale=d ** -0.5), "w_i": w_i}
    return make


def split_inputs(g: torch.Generator, case: int) -> dict:
    radix = [2, 1, 2, 3, 1, 4][case % 6]
    n = batch_size(g, case, high=3)
    c, h, w, z = distinct_dims(g, 4, 2, 5)
    while True:  # keep the gate's hidden pre-activations clear of the ReLU's kink
        kw = {"x": randn(g, n, radix * c, h, w) + uniform(g, 1, radix * c, 1, 1, low=-1, high=1),
              "w1": randn(g, z, c, scale=c ** -0.5), "b1": randn(g, z, scale=0.5),
              "w2": randn(g, radix * c, z, scale=z ** -0.5), "b2": randn(g, radix * c, scale=0.5), "radix": radix}
        s = kw["x"].reshape(n, radix, c, h, w).sum(1).mean((2, 3))
        if float((s @ kw["w1"].T + kw["b1"]).abs().min()) > 1e-3:
            return kw


def split_out_shape(kw: dict) -> tuple[int, ...]:
    n, rc, h, w = kw["x"].shape
    return n, rc // kw["radix"], h, w


def map_shape(kw: dict) -> tuple[int, ...]:
    return tuple(kw["v"].shape)


SPATIAL, CHANNEL = sca_inputs("spatial"), sca_inputs("channel")
SPLIT = large_magnitude(split_inputs, "b2", kind="shift")  # case 2 (radix 2): every logit + 1e3, the softmax unmoved

SUITE.call("spatial_attention_forward", "vision", SPATIAL)
SUITE.backward("spatial_attention_backward", "spatial_attention_forward", "vision", with_dout(SPATIAL, map_shape),
               grads=("dv", "dh", "dw_s", "db_s", "dw_hs", "dw_i"), wrt=("v", "h", "w_s", "b_s", "w_hs", "w_i"))
SUITE.call("channel_attention_forward", "vision", CHANNEL)
SUITE.backward("channel_attention_backward", "channel_attention_forward", "vision", with_dout(CHANNEL, map_shape),
               grads=("dv", "dh", "dw_c", "db_c", "dw_hc", "dw_i"), wrt=("v", "h", "w_c", "b_c", "w_hc", "w_i"))
SUITE.call("split_attention_forward", "vision", SPLIT)
SUITE.backward("split_attention_backward", "split_attention_forward", "vision", with_dout(SPLIT, split_out_shape),
               grads=("dx", "dw1", "db1", "dw2", "db2"), wrt=("x", "w1", "b1", "w2", "b2"))


# DETR matching.

def boxes(g: torch.Generator, n: int) -> torch.Tensor:
    """(n, 4) boxes (cx, cy, w, h) in the unit square, sizes 0.05 .. 0.6: some overlap, some do not."""
    return torch.cat([uniform(g, n, 2, low=0.2, high=0.8), uniform(g, n, 2, low=0.05, high=0.6)], dim=1)


def corners(b: torch.Tensor) -> torch.Tensor:
    return torch.cat([b[:, :2] - b[:, 2:] / 2, b[:, :2] + b[:, 2:] / 2], dim=1)


def giou_inputs(g: torch.Generator, case: int) -> dict:
    n, m = (1, 3) if case == 0 else distinct_dims(g, 2, 2, 6)
    b1, b2 = corners(boxes(g, n)), corners(boxes(g, m))
    if case % 3 == 1:
        b2[0] = b1[0]  # the same box: GIoU 1
        b2[-1] = torch.tensor([b1[0, 0] + 0.01, b1[0, 1] + 0.01, b1[0, 2] - 0.01, b1[0, 3] - 0.01], dtype=F64)  # nested
    return {"boxes1": b1, "boxes2": b2}


def cost_inputs(g: torch.Generator, case: int) -> dict:
    q = 3 if case == 0 else randint(g, 4, 8)
    classes, m = randint(g, 3, 6), randint(g, 1, q)
    weights = (1.0, 5.0, 2.0) if case % 2 == 0 else (scalar(g, 0.5, 3), scalar(g, 0.5, 6), scalar(g, 0.5, 3))
    return {"pred_logits": randn(g, q, classes + 1, scale=2.0), "pred_boxes": boxes(g, q),
            "tgt_labels": torch.randint(0, classes, (m,), generator=g), "tgt_boxes": boxes(g, m),
            "cost_class": weights[0], "cost_bbox": weights[1], "cost_giou": weights[2]}


def assignment_inputs(g: torch.Generator, case: int) -> dict:
    """Uniform costs (cases 0 and 4), or rows competing for the same columns, cost (x_i - y_j)^2 plus a
    little noise: taking each row's cheapest column fails there, and long augmenting paths are needed."""
    r, s = [(1, 3), (7, 8), (8, 8), (8, 6), (6, 6), (4, 8)][case % 6]
    if case in (0, 4):
        return {"cost": uniform(g, r, s, low=-2.0, high=3.0)}
    x, y = uniform(g, r, 1, low=0.0, high=1.0), uniform(g, 1, s, low=0.0, high=1.0)
    return {"cost": 3.0 * (x - y) ** 2 + uniform(g, r, s, low=0.0, high=0.3)}


COST = large_magnitude(cost_inputs, "pred_logits")

SUITE.call("generalized_box_iou", "detr", giou_inputs)
SUITE.call("matching_cost", "detr", COST, calls=("generalized_box_iou",))
SUITE.call("hungarian_match", "detr", assignment_inputs, outputs=("rows", "cols"))
SUITE.call("bipartite_match", "detr", COST, outputs=("pred_idx", "tgt_idx"),
           calls=("matching_cost", "generalized_box_iou", "hungarian_match"))
