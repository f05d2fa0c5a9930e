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
    # YOUR CODE HERE
    raise NotImplementedError("a10.scaled_dot_attention_forward")
    cache = (q, k, v, scale, alpha, sm_cache)
    return out, alpha, cache


def scaled_dot_attention_backward(dout: Tensor, cache: tuple) -> tuple[Tensor, Tensor, Tensor]:
    """Backward of scaled_dot_attention_forward. dout: (..., Tq, dv). Returns (dq, dk, dv)."""
    q, k, v, scale, alpha, sm_cache = cache
    # YOUR CODE HERE
    raise NotImplementedError("a10.scaled_dot_attention_backward")
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
    # YOUR CODE HERE
    raise NotImplementedError("a10.multi_head_attention_forward")
    cache = (xq, xkv, Wq, Wk, Wv, Wo, heads, concat, att_cache)
    return out, alpha, cache


def multi_head_attention_backward(dout: Tensor, cache: tuple) -> tuple[Tensor, ...]:
    """Backward of multi_head_attention_forward. dout: (N, Tq, E).

    Returns (dxq, dxkv, dWq, dWk, dWv, dWo). Use scaled_dot_attention_backward.
    """
    xq, xkv, Wq, Wk, Wv, Wo, heads, concat, att_cache = cache
    # YOUR CODE HERE
    raise NotImplementedError("a10.multi_head_attention_backward")
    return dxq, dxkv, dWq, dWk, dWv, dWo
