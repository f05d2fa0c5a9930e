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
    ### BEGIN SOLUTION
    n, c, hh, ww = v.shape
    feats = v.reshape(n, c, hh * ww).transpose(1, 2)  # (N, HW, C)
    a = torch.tanh(feats @ w_s.T + b_s + (h @ w_hs.T)[:, None, :])  # (N, HW, K)
    alpha = _softmax(a @ w_i, dim=1)  # (N, HW)
    out = v * alpha.reshape(n, 1, hh, ww)  # (N, C, H, W)
    ### END SOLUTION
    cache = (v, h, w_s, w_hs, w_i, feats, a, alpha)
    return out, cache


def spatial_attention_backward(dout: Tensor, cache: tuple) -> tuple[Tensor, ...]:
    """Backward pass of spatial_attention_forward. dout: (N, C, H, W).

    Returns (dv, dh, dw_s, db_s, dw_hs, dw_i) shaped like v, h, w_s, b_s, w_hs, w_i (v reaches the
    output twice: directly and through its weights).
    """
    v, h, w_s, w_hs, w_i, feats, a, alpha = cache
    ### BEGIN SOLUTION
    n, c, hh, ww = v.shape
    k = w_s.shape[0]
    dalpha = (dout * v).sum(dim=1).reshape(n, hh * ww)  # (N, HW)
    dscores = alpha * (dalpha - (dalpha * alpha).sum(dim=1, keepdim=True))  # (N, HW) through the softmax
    dw_i = (dscores[:, :, None] * a).sum(dim=(0, 1))  # (K,)
    dpre = dscores[:, :, None] * w_i * (1.0 - a * a)  # (N, HW, K) through tanh
    dw_s = dpre.reshape(-1, k).T @ feats.reshape(-1, c)  # (K, C)
    db_s = dpre.sum(dim=(0, 1))  # (K,)
    dhs = dpre.sum(dim=1)  # (N, K): W_hs h was added at every position
    dw_hs = dhs.T @ h  # (K, D)
    dh = dhs @ w_hs  # (N, D)
    dfeats = dpre @ w_s  # (N, HW, C)
    dv = dout * alpha.reshape(n, 1, hh, ww) + dfeats.transpose(1, 2).reshape(n, c, hh, ww)
    ### END SOLUTION
    return dv, dh, dw_s, db_s, dw_hs, dw_i


def channel_attention_forward(v: Tensor, h: Tensor, w_c: Tensor, b_c: Tensor, w_hc: Tensor,
                              w_i: Tensor) -> tuple[Tensor, tuple]:
    """SCA-CNN channel attention: u = mean-pooled V, b = tanh((w_c (x) u + b_c) (+) W_hc h), beta = softmax(w_i^T b).

    v: (N, C, H, W); u: (N, C), each channel's mean over H, W; h: (N, D); w_c, b_c: (K,), w_c (x) u the
    outer product (K, C) per example; w_hc: (K, D), added to every channel; w_i: (K,). beta: (N, C),
    a softmax over the channels. Returns (out, cache), out: (N, C, H, W), channel c scaled by beta_c.
    """
    ### BEGIN SOLUTION
    u = v.mean(dim=(2, 3))  # (N, C)
    b = torch.tanh(w_c[None, :, None] * u[:, None, :] + b_c[None, :, None] + (h @ w_hc.T)[:, :, None])  # (N, K, C)
    beta = _softmax((w_i[None, :, None] * b).sum(dim=1), dim=1)  # (N, C)
    out = v * beta[:, :, None, None]  # (N, C, H, W)
    ### END SOLUTION
    cache = (v, h, w_c, w_hc, w_i, u, b, beta)
    return out, cache


def channel_attention_backward(dout: Tensor, cache: tuple) -> tuple[Tensor, ...]:
    """Backward pass of channel_attention_forward. dout: (N, C, H, W).

    Returns (dv, dh, dw_c, db_c, dw_hc, dw_i) shaped like v, h, w_c, b_c, w_hc, w_i.
    """
    v, h, w_c, w_hc, w_i, u, b, beta = cache
    ### BEGIN SOLUTION
    hh, ww = v.shape[2:]
    dbeta = (dout * v).sum(dim=(2, 3))  # (N, C)
    dscores = beta * (dbeta - (dbeta * beta).sum(dim=1, keepdim=True))  # (N, C)
    dw_i = (dscores[:, None, :] * b).sum(dim=(0, 2))  # (K,)
    dpre = dscores[:, None, :] * w_i[None, :, None] * (1.0 - b * b)  # (N, K, C)
    dw_c = (dpre * u[:, None, :]).sum(dim=(0, 2))  # (K,)
    db_c = dpre.sum(dim=(0, 2))  # (K,)
    dhc = dpre.sum(dim=2)  # (N, K)
    dw_hc = dhc.T @ h  # (K, D)
    dh = dhc @ w_hc  # (N, D)
    du = (dpre * w_c[None, :, None]).sum(dim=1)  # (N, C)
    dv = dout * beta[:, :, None, None] + du[:, :, None, None] / (hh * ww)  # the mean spreads du evenly
    ### END SOLUTION
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
    ### BEGIN SOLUTION
    n, rc, hh, ww = x.shape
    c = rc // radix
    splits = x.reshape(n, radix, c, hh, ww)  # (N, R, C, H, W)
    s = splits.sum(dim=1).mean(dim=(2, 3))  # (N, C)
    zpre = s @ w1.T + b1  # (N, Z)
    z = torch.where(zpre > 0, zpre, torch.zeros_like(zpre))  # (N, Z)
    logits = (z @ w2.T + b2).reshape(n, radix, c)  # (N, R, C)
    if radix == 1:
        a = 1.0 / (1.0 + torch.exp(-logits))  # (N, 1, C) sigmoid
    else:
        a = _softmax(logits, dim=1)  # (N, R, C) across the splits
    out = (a[:, :, :, None, None] * splits).sum(dim=1)  # (N, C, H, W)
    ### END SOLUTION
    cache = (splits, w1, w2, s, zpre, z, a)
    return out, cache


def split_attention_backward(dout: Tensor, cache: tuple) -> tuple[Tensor, ...]:
    """Backward pass of split_attention_forward. dout: (N, C, H, W).

    Returns (dx, dw1, db1, dw2, db2) shaped like x, w1, b1, w2, b2.
    """
    splits, w1, w2, s, zpre, z, a = cache
    ### BEGIN SOLUTION
    n, radix, c, hh, ww = splits.shape
    da = (dout[:, None] * splits).sum(dim=(3, 4))  # (N, R, C)
    if radix == 1:
        dlogits = da * a * (1.0 - a)
    else:
        dlogits = a * (da - (da * a).sum(dim=1, keepdim=True))  # the softmax across splits
    dlogits = dlogits.reshape(n, radix * c)  # (N, R*C)
    dw2 = dlogits.T @ z  # (R*C, Z)
    db2 = dlogits.sum(dim=0)  # (R*C,)
    dzpre = (dlogits @ w2) * (zpre > 0)  # (N, Z)
    dw1 = dzpre.T @ s  # (Z, C)
    db1 = dzpre.sum(dim=0)  # (Z,)
    ds = dzpre @ w1  # (N, C)
    dsplits = a[:, :, :, None, None] * dout[:, None] + (ds / (hh * ww))[:, None, :, None, None]  # every split fed U
    dx = dsplits.reshape(n, radix * c, hh, ww)
    ### END SOLUTION
    return dx, dw1, db1, dw2, db2
