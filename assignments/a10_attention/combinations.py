"""Attention combined: hierarchical attention (Yang et al., 2016), attention over attention (Cui et al., 2017)
and multi-step attention (ConvS2S, Gehring et al., 2017).

The recurrent and convolutional encoders of those papers are left out: the functions receive
their hidden states and compute the attention on top of them.
"""
from __future__ import annotations

import torch

from .softmax import masked_softmax_backward, masked_softmax_forward

Tensor = torch.Tensor


def attention_pooling_forward(h: Tensor, W: Tensor, b: Tensor, u: Tensor,
                              mask: Tensor | None = None) -> tuple[Tensor, Tensor, tuple]:
    """Attention pooling with a context vector: u_t = tanh(h_t W + b), alpha = softmax_t(u_t . u),
    s = sum_t alpha_t h_t.

    h: (N, T, D); W: (D, A); b: (A,); u: (A,) the learned context vector; mask: (N, T) boolean or None.
    Use masked_softmax_forward. Returns (s, alpha, cache): (N, D), (N, T).
    """
    # YOUR CODE HERE
    raise NotImplementedError("a10.attention_pooling_forward")
    cache = (h, W, u, t, alpha, sm_cache)
    return s, alpha, cache


def attention_pooling_backward(ds: Tensor, cache: tuple) -> tuple[Tensor, Tensor, Tensor, Tensor]:
    """Backward of attention_pooling_forward. ds: (N, D). Returns (dh, dW, db, du)."""
    h, W, u, t, alpha, sm_cache = cache
    # YOUR CODE HERE
    raise NotImplementedError("a10.attention_pooling_backward")
    return dh, dW, db, du


def hierarchical_attention_forward(h: Tensor, mask: Tensor, Ww: Tensor, bw: Tensor, uw: Tensor, Ws: Tensor,
                                   bs: Tensor, us: Tensor) -> tuple[Tensor, Tensor, Tensor, tuple]:
    """A document vector from word states: word-level attention pooling makes one vector per sentence,
    sentence-level attention pooling (parameters of its own) makes the document's.

    h: (N, S, T, D) the word states of S sentences of T words; mask: (N, S, T) boolean (False: padding);
    Ww: (D, A); bw, uw: (A,); Ws: (D, B); bs, us: (B,). Use attention_pooling_forward.
    Returns (v, word_alpha, sent_alpha, cache): (N, D), (N, S, T), (N, S).
    """
    # YOUR CODE HERE
    raise NotImplementedError("a10.hierarchical_attention_forward")
    cache = (h.shape, word_cache, sent_cache)
    return v, word_alpha, sent_alpha, cache


def hierarchical_attention_backward(dv: Tensor, cache: tuple) -> tuple[Tensor, ...]:
    """Backward of hierarchical_attention_forward. dv: (N, D).

    Returns (dh, dWw, dbw, duw, dWs, dbs, dus). Use attention_pooling_backward.
    """
    shape, word_cache, sent_cache = cache
    # YOUR CODE HERE
    raise NotImplementedError("a10.hierarchical_attention_backward")
    return dh, dWw, dbw, duw, dWs, dbs, dus


def attention_over_attention_forward(d: Tensor, q: Tensor) -> tuple[Tensor, tuple]:
    """Attention over attention: M = D Q^T; alpha = softmax of each column of M (over the document,
    one query-to-document attention per query word); beta = softmax of each row (over the query);
    beta_bar = mean of beta over the document's words; s = alpha beta_bar.

    d: (N, Ld, H) document states; q: (N, Lq, H) query states. Use masked_softmax_forward.
    Returns (s, cache): s (N, Ld), the attention over the document's words.
    """
    # YOUR CODE HERE
    raise NotImplementedError("a10.attention_over_attention_forward")
    cache = (d, q, alpha, beta_bar, alpha_cache, beta_cache)
    return s, cache


def attention_over_attention_backward(ds: Tensor, cache: tuple) -> tuple[Tensor, Tensor]:
    """Backward of attention_over_attention_forward. ds: (N, Ld). Returns (dd, dq)."""
    d, q, alpha, beta_bar, alpha_cache, beta_cache = cache
    # YOUR CODE HERE
    raise NotImplementedError("a10.attention_over_attention_backward")
    return dd, dq


def multistep_attention_forward(h: Tensor, g: Tensor, z: Tensor, e: Tensor,
                                params: list) -> tuple[Tensor, Tensor, tuple]:
    """ConvS2S's multi-step attention: each decoder layer l has an attention of its own,
    d_i = h_i W_d + b_d + g_i, a_ij = softmax_j(d_i . z_j), c_i = sum_j a_ij (z_j + e_j), and passes
    h + c to the next layer (the layers' convolutions are left out).

    h: (N, Tt, C) the first layer's decoder states; g: (N, Tt, C) the previous target elements'
    embeddings; z: (N, Ts, C) the encoder's outputs; e: (N, Ts, C) its input embeddings;
    params: [(W_d (C, C), b_d (C,)), ...] one pair per layer. Use masked_softmax_forward.
    Returns (out, attn, cache): the last layer's h + c (N, Tt, C), the weights of every layer (L, N, Tt, Ts).
    """
    # YOUR CODE HERE
    raise NotImplementedError("a10.multistep_attention_forward")
    cache = (z, values, layers)
    return h, attn, cache


def multistep_attention_backward(dout: Tensor, cache: tuple) -> tuple[Tensor, Tensor, Tensor, Tensor, list]:
    """Backward of multistep_attention_forward. dout: (N, Tt, C).

    Returns (dh, dg, dz, de, dparams), dparams = [(dW_d, db_d), ...] one pair per layer.
    """
    z, values, layers = cache
    # YOUR CODE HERE
    raise NotImplementedError("a10.multistep_attention_backward")
    return dh, dg, dz, de, dparams
