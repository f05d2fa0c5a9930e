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
    ### BEGIN SOLUTION
    scale = 1.0 / math.sqrt(q.shape[-1])
    scores = (q @ k.transpose(-2, -1)) * scale  # (..., Tq, Tk)
    if mask is not None:
        if mask.dtype == torch.bool:
            scores = scores.masked_fill(~mask, float("-inf"))  # a removed key gets weight exp(-inf) = 0
        else:
            scores = scores + mask
    attn = softmax(scores, dim=-1)  # (..., Tq, Tk) each row sums to 1 over the keys
    out = attn @ v  # (..., Tq, d_v)
    ### END SOLUTION
    cache = (q, k, v, attn, scale)
    return out, cache


def attention_backward(dout: Tensor, cache: tuple) -> tuple[Tensor, Tensor, Tensor]:
    """Backward pass of attention_forward. dout: (..., Tq, d_v).

    Returns (dq, dk, dv) shaped like q, k, v. Masked keys have weight 0, so no gradient reaches
    them through the softmax; a float mask is an input, not graded here.
    """
    q, k, v, attn, scale = cache
    ### BEGIN SOLUTION
    dv = attn.transpose(-2, -1) @ dout  # (..., Tk, d_v)
    dattn = dout @ v.transpose(-2, -1)  # (..., Tq, Tk)
    dscores = attn * (dattn - (dattn * attn).sum(dim=-1, keepdim=True))  # softmax's Jacobian, row by row
    dq = (dscores @ k) * scale  # (..., Tq, d_k)
    dk = (dscores.transpose(-2, -1) @ q) * scale  # (..., Tk, d_k)
    ### END SOLUTION
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
    ### BEGIN SOLUTION
    n, tq, e = query.shape
    tk, d = key.shape[1], e // num_heads
    w_q, w_k, w_v = in_proj_weight.chunk(3, dim=0)  # (E, E) each
    b_q, b_k, b_v = in_proj_bias.chunk(3, dim=0)  # (E,) each
    # Head i owns features i*d .. (i+1)*d - 1 of each position: (N, T, E) -> (N, T, h, d) -> (N, h, T, d).
    q = (query @ w_q.T + b_q).reshape(n, tq, num_heads, d).transpose(1, 2)  # (N, h, Tq, d)
    k = (key @ w_k.T + b_k).reshape(n, tk, num_heads, d).transpose(1, 2)  # (N, h, Tk, d)
    v = (value @ w_v.T + b_v).reshape(n, tk, num_heads, d).transpose(1, 2)  # (N, h, Tk, d)
    if mask is not None and mask.dim() == 3:
        mask = mask.unsqueeze(1)  # (N, 1, Tq, Tk): the same mask in every head
    heads, attn_cache = attention_forward(q, k, v, mask)  # (N, h, Tq, d)
    concat = heads.transpose(1, 2).reshape(n, tq, e)  # (N, Tq, E): the heads side by side
    out = concat @ out_proj_weight.T + out_proj_bias  # (N, Tq, E)
    ### END SOLUTION
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
    ### BEGIN SOLUTION
    n, tq, e = query.shape
    d = e // num_heads
    dout_proj_weight = dout.reshape(-1, e).T @ concat.reshape(-1, e)  # (E, E)
    dout_proj_bias = dout.reshape(-1, e).sum(dim=0)  # (E,)
    dheads = (dout @ out_proj_weight).reshape(n, tq, num_heads, d).transpose(1, 2)  # (N, h, Tq, d)
    dq, dk, dv = attention_backward(dheads, attn_cache)  # (N, h, T, d) each
    grads = []
    for dproj, x, w in zip((dq, dk, dv), (query, key, value), in_proj_weight.chunk(3, dim=0)):
        dproj = dproj.transpose(1, 2).reshape(x.shape)  # (N, T, E): the heads side by side again
        grads.append((dproj @ w, dproj.reshape(-1, e).T @ x.reshape(-1, e), dproj.reshape(-1, e).sum(dim=0)))
    (dquery, dw_q, db_q), (dkey, dw_k, db_k), (dvalue, dw_v, db_v) = grads
    din_proj_weight = torch.cat([dw_q, dw_k, dw_v], dim=0)  # (3E, E)
    din_proj_bias = torch.cat([db_q, db_k, db_v], dim=0)  # (3E,)
    ### END SOLUTION
    return dquery, dkey, dvalue, din_proj_weight, din_proj_bias, dout_proj_weight, dout_proj_bias
