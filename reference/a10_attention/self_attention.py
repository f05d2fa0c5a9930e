"""Scaled dot-product attention and multi-head attention (Vaswani et al., 2017), forward and backward.

Masks are boolean, True where a query may attend to a key (as torch's ``scaled_dot_product_attention``),
and broadcast against the scores (..., Tq, Tk). Projections are row-vector ones, x W; no biases.
"""
from __future__ import annotations

import math

import torch

from .softmax import masked_softmax_backward, masked_softmax_forward

Tensor = torch.Tensor


def scaled_dot_attention_forward(q: Tensor, k: Tensor, v: Tensor,
                                 mask: Tensor | None = None) -> tuple[Tensor, Tensor, tuple]:
    """out = softmax(q k^T / sqrt(d_k)) v, the softmax over the keys.

    q: (..., Tq, dk); k: (..., Tk, dk); v: (..., Tk, dv); mask: boolean broadcastable to (..., Tq, Tk),
    or None. Use masked_softmax_forward. Returns (out, alpha, cache): (..., Tq, dv), (..., Tq, Tk).
    """
    ### BEGIN SOLUTION
    scale = 1.0 / math.sqrt(q.shape[-1])
    scores = q @ k.transpose(-2, -1) * scale  # (..., Tq, Tk)
    alpha, sm_cache = masked_softmax_forward(scores, mask, dim=-1)  # (..., Tq, Tk)
    out = alpha @ v  # (..., Tq, dv)
    ### END SOLUTION
    cache = (q, k, v, scale, alpha, sm_cache)
    return out, alpha, cache


def scaled_dot_attention_backward(dout: Tensor, cache: tuple) -> tuple[Tensor, Tensor, Tensor]:
    """Backward of scaled_dot_attention_forward. dout: (..., Tq, dv). Returns (dq, dk, dv)."""
    q, k, v, scale, alpha, sm_cache = cache
    ### BEGIN SOLUTION
    dv = alpha.transpose(-2, -1) @ dout  # (..., Tk, dv)
    dalpha = dout @ v.transpose(-2, -1)  # (..., Tq, Tk)
    dscores = masked_softmax_backward(dalpha, sm_cache) * scale  # (..., Tq, Tk)
    dq = dscores @ k  # (..., Tq, dk)
    dk = dscores.transpose(-2, -1) @ q  # (..., Tk, dk)
    ### END SOLUTION
    return dq, dk, dv


def multi_head_attention_forward(xq: Tensor, xkv: Tensor, Wq: Tensor, Wk: Tensor, Wv: Tensor, Wo: Tensor,
                                 heads: int, mask: Tensor | None = None) -> tuple[Tensor, Tensor, tuple]:
    """Multi-head attention: Q = xq Wq, K = xkv Wk, V = xkv Wv, each split into ``heads`` heads of
    d_k = E / heads features (feature j of head i is feature i * d_k + j), scaled dot-product attention
    per head, heads concatenated back, out = concat Wo. Self-attention passes the same tensor twice.

    xq: (N, Tq, E); xkv: (N, Tk, E); Wq, Wk, Wv, Wo: (E, E); mask: boolean broadcastable to (N, Tq, Tk),
    shared by the heads, or None. Use scaled_dot_attention_forward.
    Returns (out, alpha, cache): (N, Tq, E), the weights (N, heads, Tq, Tk).
    """
    ### BEGIN SOLUTION
    n, tq, e = xq.shape
    tk, dk = xkv.shape[1], e // heads
    q = (xq @ Wq).reshape(n, tq, heads, dk).transpose(1, 2)  # (N, h, Tq, dk): features split, then heads first
    k = (xkv @ Wk).reshape(n, tk, heads, dk).transpose(1, 2)  # (N, h, Tk, dk)
    v = (xkv @ Wv).reshape(n, tk, heads, dk).transpose(1, 2)  # (N, h, Tk, dk)
    if mask is not None:
        mask = mask.unsqueeze(-3)  # (N or 1, 1, Tq, Tk): the same for every head
    o, alpha, att_cache = scaled_dot_attention_forward(q, k, v, mask)  # (N, h, Tq, dk)
    concat = o.transpose(1, 2).reshape(n, tq, e)  # (N, Tq, E)
    out = concat @ Wo  # (N, Tq, E)
    ### END SOLUTION
    cache = (xq, xkv, Wq, Wk, Wv, Wo, heads, concat, att_cache)
    return out, alpha, cache


def multi_head_attention_backward(dout: Tensor, cache: tuple) -> tuple[Tensor, ...]:
    """Backward of multi_head_attention_forward. dout: (N, Tq, E).

    Returns (dxq, dxkv, dWq, dWk, dWv, dWo). Use scaled_dot_attention_backward.
    """
    xq, xkv, Wq, Wk, Wv, Wo, heads, concat, att_cache = cache
    ### BEGIN SOLUTION
    n, tq, e = dout.shape
    tk = xkv.shape[1]
    dWo = concat.reshape(-1, e).T @ dout.reshape(-1, e)  # (E, E)
    dconcat = (dout @ Wo.T).reshape(n, tq, heads, e // heads).transpose(1, 2)  # (N, h, Tq, dk)
    dq, dk, dv = scaled_dot_attention_backward(dconcat, att_cache)  # (N, h, T, dk)
    dq = dq.transpose(1, 2).reshape(n, tq, e)  # (N, Tq, E)
    dk = dk.transpose(1, 2).reshape(n, tk, e)  # (N, Tk, E)
    dv = dv.transpose(1, 2).reshape(n, tk, e)  # (N, Tk, E)
    dWq = xq.reshape(-1, e).T @ dq.reshape(-1, e)  # (E, E)
    dWk = xkv.reshape(-1, e).T @ dk.reshape(-1, e)
    dWv = xkv.reshape(-1, e).T @ dv.reshape(-1, e)
    dxq = dq @ Wq.T  # (N, Tq, E)
    dxkv = dk @ Wk.T + dv @ Wv.T  # (N, Tk, E)
    ### END SOLUTION
    return dxq, dxkv, dWq, dWk, dWv, dWo
