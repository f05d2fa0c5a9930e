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
    ### BEGIN SOLUTION
    t = torch.tanh(h @ W + b)  # (N, T, A)
    scores = t @ u  # (N, T)
    alpha, sm_cache = masked_softmax_forward(scores, mask)  # (N, T)
    s = (alpha[:, :, None] * h).sum(dim=1)  # (N, D)
    ### END SOLUTION
    cache = (h, W, u, t, alpha, sm_cache)
    return s, alpha, cache


def attention_pooling_backward(ds: Tensor, cache: tuple) -> tuple[Tensor, Tensor, Tensor, Tensor]:
    """Backward of attention_pooling_forward. ds: (N, D). Returns (dh, dW, db, du)."""
    h, W, u, t, alpha, sm_cache = cache
    ### BEGIN SOLUTION
    dalpha = (h * ds[:, None, :]).sum(dim=2)  # (N, T)
    dh = alpha[:, :, None] * ds[:, None, :]  # (N, T, D)
    dscores = masked_softmax_backward(dalpha, sm_cache)  # (N, T)
    du = (t * dscores[:, :, None]).sum(dim=(0, 1))  # (A,)
    dpre = dscores[:, :, None] * u * (1 - t * t)  # (N, T, A)
    dW = torch.einsum("ntd,nta->da", h, dpre)  # (D, A)
    db = dpre.sum(dim=(0, 1))  # (A,)
    dh = dh + dpre @ W.T
    ### END SOLUTION
    return dh, dW, db, du


def hierarchical_attention_forward(h: Tensor, mask: Tensor, Ww: Tensor, bw: Tensor, uw: Tensor, Ws: Tensor,
                                   bs: Tensor, us: Tensor) -> tuple[Tensor, Tensor, Tensor, tuple]:
    """A document vector from word states: word-level attention pooling makes one vector per sentence,
    sentence-level attention pooling (parameters of its own) makes the document's.

    h: (N, S, T, D) the word states of S sentences of T words; mask: (N, S, T) boolean (False: padding);
    Ww: (D, A); bw, uw: (A,); Ws: (D, B); bs, us: (B,). Use attention_pooling_forward.
    Returns (v, word_alpha, sent_alpha, cache): (N, D), (N, S, T), (N, S).
    """
    ### BEGIN SOLUTION
    n, s, t, d = h.shape
    sent, word_alpha, word_cache = attention_pooling_forward(h.reshape(n * s, t, d), Ww, bw, uw,
                                                             mask.reshape(n * s, t))  # (N*S, D)
    v, sent_alpha, sent_cache = attention_pooling_forward(sent.reshape(n, s, d), Ws, bs, us)  # (N, D)
    word_alpha = word_alpha.reshape(n, s, t)
    ### END SOLUTION
    cache = (h.shape, word_cache, sent_cache)
    return v, word_alpha, sent_alpha, cache


def hierarchical_attention_backward(dv: Tensor, cache: tuple) -> tuple[Tensor, ...]:
    """Backward of hierarchical_attention_forward. dv: (N, D).

    Returns (dh, dWw, dbw, duw, dWs, dbs, dus). Use attention_pooling_backward.
    """
    shape, word_cache, sent_cache = cache
    ### BEGIN SOLUTION
    n, s, t, d = shape
    dsent, dWs, dbs, dus = attention_pooling_backward(dv, sent_cache)  # (N, S, D)
    dh, dWw, dbw, duw = attention_pooling_backward(dsent.reshape(n * s, d), word_cache)  # (N*S, T, D)
    dh = dh.reshape(n, s, t, d)
    ### END SOLUTION
    return dh, dWw, dbw, duw, dWs, dbs, dus


def attention_over_attention_forward(d: Tensor, q: Tensor) -> tuple[Tensor, tuple]:
    """Attention over attention: M = D Q^T; alpha = softmax of each column of M (over the document,
    one query-to-document attention per query word); beta = softmax of each row (over the query);
    beta_bar = mean of beta over the document's words; s = alpha beta_bar.

    d: (N, Ld, H) document states; q: (N, Lq, H) query states. Use masked_softmax_forward.
    Returns (s, cache): s (N, Ld), the attention over the document's words.
    """
    ### BEGIN SOLUTION
    m = d @ q.transpose(1, 2)  # (N, Ld, Lq)
    alpha, alpha_cache = masked_softmax_forward(m, dim=1)  # (N, Ld, Lq): each column sums to 1
    beta, beta_cache = masked_softmax_forward(m, dim=2)  # (N, Ld, Lq): each row sums to 1
    beta_bar = beta.mean(dim=1)  # (N, Lq)
    s = (alpha @ beta_bar[:, :, None])[:, :, 0]  # (N, Ld)
    ### END SOLUTION
    cache = (d, q, alpha, beta_bar, alpha_cache, beta_cache)
    return s, cache


def attention_over_attention_backward(ds: Tensor, cache: tuple) -> tuple[Tensor, Tensor]:
    """Backward of attention_over_attention_forward. ds: (N, Ld). Returns (dd, dq)."""
    d, q, alpha, beta_bar, alpha_cache, beta_cache = cache
    ### BEGIN SOLUTION
    ld = d.shape[1]
    dalpha = ds[:, :, None] * beta_bar[:, None, :]  # (N, Ld, Lq)
    dbeta_bar = (alpha * ds[:, :, None]).sum(dim=1)  # (N, Lq)
    dbeta = (dbeta_bar / ld)[:, None, :].expand(-1, ld, -1)  # (N, Ld, Lq)
    dm = masked_softmax_backward(dalpha, alpha_cache) + masked_softmax_backward(dbeta, beta_cache)  # (N, Ld, Lq)
    dd = dm @ q  # (N, Ld, H)
    dq = dm.transpose(1, 2) @ d  # (N, Lq, H)
    ### END SOLUTION
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
    ### BEGIN SOLUTION
    values = z + e  # (N, Ts, C)
    attn, layers = [], []
    for Wd, bd in params:
        dq = h @ Wd + bd + g  # (N, Tt, C)
        a, sm_cache = masked_softmax_forward(dq @ z.transpose(1, 2))  # (N, Tt, Ts)
        c = a @ values  # (N, Tt, C)
        layers.append((h, Wd, dq, a, sm_cache))
        attn.append(a)
        h = h + c  # (N, Tt, C)
    attn = torch.stack(attn)  # (L, N, Tt, Ts)
    ### END SOLUTION
    cache = (z, values, layers)
    return h, attn, cache


def multistep_attention_backward(dout: Tensor, cache: tuple) -> tuple[Tensor, Tensor, Tensor, Tensor, list]:
    """Backward of multistep_attention_forward. dout: (N, Tt, C).

    Returns (dh, dg, dz, de, dparams), dparams = [(dW_d, db_d), ...] one pair per layer.
    """
    z, values, layers = cache
    ### BEGIN SOLUTION
    dh = dout
    dg = torch.zeros_like(dout)
    dz = torch.zeros_like(z)
    dvalues = torch.zeros_like(values)
    dparams = []
    for h, Wd, dq, a, sm_cache in reversed(layers):
        dc = dh  # h_next = h + c: the residual passes dh on, and c receives it
        da = dc @ values.transpose(1, 2)  # (N, Tt, Ts)
        dvalues = dvalues + a.transpose(1, 2) @ dc  # (N, Ts, C)
        dscores = masked_softmax_backward(da, sm_cache)  # (N, Tt, Ts)
        ddq = dscores @ z  # (N, Tt, C)
        dz = dz + dscores.transpose(1, 2) @ dq  # (N, Ts, C)
        dg = dg + ddq
        c_dim = Wd.shape[0]
        dWd = h.reshape(-1, c_dim).T @ ddq.reshape(-1, c_dim)  # (C, C)
        dbd = ddq.sum(dim=(0, 1))  # (C,)
        dparams.append((dWd, dbd))
        dh = dh + ddq @ Wd.T
    dparams.reverse()
    dz = dz + dvalues
    de = dvalues
    ### END SOLUTION
    return dh, dg, dz, de, dparams
