"""Additive attention (Bahdanau, Cho and Bengio, 2015): e_ij = v^T tanh(W s_{i-1} + U h_j), alpha = softmax_j e,
c_i = sum_j alpha_ij h_j.

Row vectors throughout: s W is the decoder state's projection, h U the annotations'. A mask
(N, T) marks the source positions that may be attended to (False: padding).
"""
from __future__ import annotations

import torch

from .softmax import masked_softmax_backward, masked_softmax_forward

Tensor = torch.Tensor


def additive_attention_forward(s: Tensor, h: Tensor, W: Tensor, U: Tensor, v: Tensor,
                               mask: Tensor | None = None) -> tuple[Tensor, Tensor, tuple]:
    """One decoder step of additive attention.

    s: (N, Ds) previous decoder state s_{i-1}; h: (N, T, Dh) encoder annotations; W: (Ds, A);
    U: (Dh, A); v: (A,); mask: (N, T) boolean or None. Use masked_softmax_forward.
    Returns (c, alpha, cache): context c (N, Dh), weights alpha (N, T).
    """
    ### BEGIN SOLUTION
    t = torch.tanh((s @ W)[:, None, :] + h @ U)  # (N, T, A)
    e = t @ v  # (N, T)
    alpha, sm_cache = masked_softmax_forward(e, mask)  # (N, T)
    c = (alpha[:, :, None] * h).sum(dim=1)  # (N, Dh)
    ### END SOLUTION
    cache = (s, h, W, U, v, t, alpha, sm_cache)
    return c, alpha, cache


def additive_attention_backward(dc: Tensor, cache: tuple) -> tuple[Tensor, Tensor, Tensor, Tensor, Tensor]:
    """Backward of additive_attention_forward. dc: (N, Dh).

    Returns (ds, dh, dW, dU, dv): (N, Ds), (N, T, Dh), (Ds, A), (Dh, A), (A,). h gets gradient both
    as the values averaged and through the scores. Use masked_softmax_backward.
    """
    s, h, W, U, v, t, alpha, sm_cache = cache
    ### BEGIN SOLUTION
    dalpha = (h * dc[:, None, :]).sum(dim=2)  # (N, T)
    dh = alpha[:, :, None] * dc[:, None, :]  # (N, T, Dh): through the weighted sum
    de = masked_softmax_backward(dalpha, sm_cache)  # (N, T)
    dv = (t * de[:, :, None]).sum(dim=(0, 1))  # (A,)
    dpre = de[:, :, None] * v * (1 - t * t)  # (N, T, A)
    dU = torch.einsum("ntd,nta->da", h, dpre)  # (Dh, A)
    dh = dh + dpre @ U.T  # (N, T, Dh): through the scores
    dsw = dpre.sum(dim=1)  # (N, A)
    dW = s.T @ dsw  # (Ds, A)
    ds = dsw @ W.T  # (N, Ds)
    ### END SOLUTION
    return ds, dh, dW, dU, dv
