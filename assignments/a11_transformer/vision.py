"""Attention in vision: SCA-CNN's spatial and channel attention (Chen et al., 2017) and ResNeSt's split attention (Zhang et al., 2020).

Feature maps are (N, C, H, W). SCA-CNN weighs a CNN's feature map with the state h of a caption
decoder: spatial attention gives every position a weight alpha (a softmax over the H*W positions),
channel attention gives every channel a weight beta (a softmax over the C channels); each returns
the feature map multiplied by its weights. Split attention sums the radix splits of its input,
pools them, and mixes the splits with weights from a two-layer gate: an r-softmax across the
splits for radix > 1, a sigmoid for radix = 1 (then it is a squeeze-and-excitation gate).
Linear maps follow torch's layout, y = x W^T + b.
"""
from __future__ import annotations

import torch

Tensor = torch.Tensor


def _softmax(scores: Tensor, dim: int) -> Tensor:
    e = torch.exp(scores - scores.amax(dim=dim, keepdim=True))  # stabilise exp
    return e / e.sum(dim=dim, keepdim=True)


def spatial_attention_forward(v: Tensor, h: Tensor, w_s: Tensor, b_s: Tensor, w_hs: Tensor,
                              w_i: Tensor) -> tuple[Tensor, tuple]:
    """SCA-CNN spatial attention: a = tanh((W_s V + b_s) (+) W_hs h), alpha = softmax(w_i^T a), out = V * alpha.

    v: (N, C, H, W), the map's H*W positions each a C-vector; h: (N, D); w_s: (K, C); b_s: (K,);
    w_hs: (K, D), added at every position ((+)); w_i: (K,). alpha: (N, H*W), a softmax over the
    positions (the paper's scalar bias b_i would cancel in it, so there is none). Returns
    (out, cache), out: (N, C, H, W), each position of v scaled by its weight.
    """
    # YOUR CODE HERE
    raise NotImplementedError("a11.spatial_attention_forward")
    cache = (v, h, w_s, w_hs, w_i, feats, a, alpha)
    return out, cache


def spatial_attention_backward(dout: Tensor, cache: tuple) -> tuple[Tensor, ...]:
    """Backward pass of spatial_attention_forward. dout: (N, C, H, W).

    Returns (dv, dh, dw_s, db_s, dw_hs, dw_i) shaped like v, h, w_s, b_s, w_hs, w_i (v reaches the
    output twice: directly and through its weights).
    """
    v, h, w_s, w_hs, w_i, feats, a, alpha = cache
    # YOUR CODE HERE
    raise NotImplementedError("a11.spatial_attention_backward")
    return dv, dh, dw_s, db_s, dw_hs, dw_i


def channel_attention_forward(v: Tensor, h: Tensor, w_c: Tensor, b_c: Tensor, w_hc: Tensor,
                              w_i: Tensor) -> tuple[Tensor, tuple]:
    """SCA-CNN channel attention: u = mean-pooled V, b = tanh((w_c (x) u + b_c) (+) W_hc h), beta = softmax(w_i^T b).

    v: (N, C, H, W); u: (N, C), each channel's mean over H, W; h: (N, D); w_c, b_c: (K,), w_c (x) u the
    outer product (K, C) per example; w_hc: (K, D), added to every channel; w_i: (K,). beta: (N, C),
    a softmax over the channels. Returns (out, cache), out: (N, C, H, W), channel c scaled by beta_c.
    """
    # YOUR CODE HERE
    raise NotImplementedError("a11.channel_attention_forward")
    cache = (v, h, w_c, w_hc, w_i, u, b, beta)
    return out, cache


def channel_attention_backward(dout: Tensor, cache: tuple) -> tuple[Tensor, ...]:
    """Backward pass of channel_attention_forward. dout: (N, C, H, W).

    Returns (dv, dh, dw_c, db_c, dw_hc, dw_i) shaped like v, h, w_c, b_c, w_hc, w_i.
    """
    v, h, w_c, w_hc, w_i, u, b, beta = cache
    # YOUR CODE HERE
    raise NotImplementedError("a11.channel_attention_backward")
    return dv, dh, dw_c, db_c, dw_hc, dw_i


def split_attention_forward(x: Tensor, w1: Tensor, b1: Tensor, w2: Tensor, b2: Tensor,
                            radix: int) -> tuple[Tensor, tuple]:
    """ResNeSt split attention (cardinality 1, the gate's batch norm left out).

    x: (N, R*C, H, W) holds R = radix splits, split r being channels r*C .. (r+1)*C - 1. U = the sum
    of the splits (N, C, H, W); s = U mean-pooled (N, C); z = ReLU(s W1^T + b1) (N, Z), w1 (Z, C);
    logits = z W2^T + b2 (N, R*C), w2 (R*C, Z), read as (N, R, C) (split r, channel c at r*C + c);
    a = softmax over the R splits of each channel (radix > 1) or sigmoid(logits) (radix = 1);
    out = sum_r a[:, r, c] * split_r. Returns (out, cache), out: (N, C, H, W).
    """
    # YOUR CODE HERE
    raise NotImplementedError("a11.split_attention_forward")
    cache = (splits, w1, w2, s, zpre, z, a)
    return out, cache


def split_attention_backward(dout: Tensor, cache: tuple) -> tuple[Tensor, ...]:
    """Backward pass of split_attention_forward. dout: (N, C, H, W).

    Returns (dx, dw1, db1, dw2, db2) shaped like x, w1, b1, w2, b2.
    """
    splits, w1, w2, s, zpre, z, a = cache
    # YOUR CODE HERE
    raise NotImplementedError("a11.split_attention_backward")
    return dx, dw1, db1, dw2, db2
