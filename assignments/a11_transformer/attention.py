"""Scaled dot-product attention and multi-head attention (Vaswani et al., 2017), forward and backward by hand.

Attention(Q, K, V) = softmax(Q K^T / sqrt(d_k) + mask) V. A boolean mask says which keys each
query may attend to (True = may attend, as ``F.scaled_dot_product_attention``); a float mask is
added to the scores (0 keeps a key, -inf removes it). Multi-head attention uses torch's layout
of ``nn.MultiheadAttention``: one packed input projection ``in_proj_weight`` (3E, E) holding the
query, key and value projections in that order, an output projection (E, E), ``y = x W^T + b``;
tensors are batch first, (N, T, E), and head i owns features i*d .. (i+1)*d - 1 of the projection.
"""
from __future__ import annotations

import math

import torch

Tensor = torch.Tensor


def softmax(scores: Tensor, dim: int = -1) -> Tensor:
    """A numerically stable softmax along ``dim`` (not graded on its own)."""
    e = torch.exp(scores - scores.amax(dim=dim, keepdim=True))  # stabilise exp
    return e / e.sum(dim=dim, keepdim=True)


def attention_forward(q: Tensor, k: Tensor, v: Tensor, mask: Tensor | None = None) -> tuple[Tensor, tuple]:
    """Scaled dot-product attention: out = softmax(q k^T / sqrt(d_k) (+ mask)) v, the softmax over the keys.

    q: (..., Tq, d_k); k: (..., Tk, d_k); v: (..., Tk, d_v), the same leading dimensions.
    mask: None, a bool tensor broadcastable to (..., Tq, Tk) (True = the query may attend to the
    key; every query keeps at least one key), or a float tensor of that shape added to the scores.
    Returns (out, cache), out: (..., Tq, d_v). The cache keeps the attention weights (..., Tq, Tk).
    """
    # YOUR CODE HERE
    raise NotImplementedError("a11.attention_forward")
    cache = (q, k, v, attn, scale)
    return out, cache


def attention_backward(dout: Tensor, cache: tuple) -> tuple[Tensor, Tensor, Tensor]:
    """Backward pass of attention_forward. dout: (..., Tq, d_v).

    Returns (dq, dk, dv) shaped like q, k, v. Masked keys have weight 0, so no gradient reaches
    them through the softmax; a float mask is an input, not graded here.
    """
    q, k, v, attn, scale = cache
    # YOUR CODE HERE
    raise NotImplementedError("a11.attention_backward")
    return dq, dk, dv


def multi_head_attention_forward(query: Tensor, key: Tensor, value: Tensor, in_proj_weight: Tensor,
                                 in_proj_bias: Tensor, out_proj_weight: Tensor, out_proj_bias: Tensor,
                                 num_heads: int, mask: Tensor | None = None) -> tuple[Tensor, tuple]:
    """Multi-head attention as ``nn.MultiheadAttention(E, num_heads, batch_first=True)`` computes it.

    query: (N, Tq, E); key, value: (N, Tk, E); in_proj_weight: (3E, E) = [W_q; W_k; W_v];
    in_proj_bias: (3E,); out_proj_weight: (E, E); out_proj_bias: (E,); E divisible by num_heads.
    mask: None, or bool / float of shape (Tq, Tk) or (N, Tq, Tk), shared by the heads, with
    attention_forward's meaning (True = may attend; note ``nn.MultiheadAttention``'s own boolean
    ``attn_mask`` means the opposite). Project, split each projection into heads, (N, T, E) -> (N, h, T, d),
    attend in every head at once (attention_forward), put the heads side by side and project the result.
    Returns (out, cache), out: (N, Tq, E).
    """
    # YOUR CODE HERE
    raise NotImplementedError("a11.multi_head_attention_forward")
    cache = (query, key, value, in_proj_weight, out_proj_weight, concat, attn_cache, num_heads)
    return out, cache


def attention_weights(cache: tuple) -> Tensor:
    """The attention weights of each head, (N, h, Tq, Tk), from a multi_head_attention_forward cache."""
    return cache[6][3]


def multi_head_attention_backward(dout: Tensor, cache: tuple) -> tuple[Tensor, ...]:
    """Backward pass of multi_head_attention_forward. dout: (N, Tq, E).

    Returns (dquery, dkey, dvalue, din_proj_weight, din_proj_bias, dout_proj_weight, dout_proj_bias),
    shaped like the inputs. For self-attention (query, key and value the same tensor) the caller
    adds dquery + dkey + dvalue.
    """
    query, key, value, in_proj_weight, out_proj_weight, concat, attn_cache, num_heads = cache
    # YOUR CODE HERE
    raise NotImplementedError("a11.multi_head_attention_backward")
    return dquery, dkey, dvalue, din_proj_weight, din_proj_bias, dout_proj_weight, dout_proj_bias
