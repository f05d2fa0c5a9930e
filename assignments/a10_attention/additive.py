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
    # YOUR CODE HERE
    raise NotImplementedError("a10.additive_attention_forward")
    cache = (s, h, W, U, v, t, alpha, sm_cache)
    return c, alpha, cache


def additive_attention_backward(dc: Tensor, cache: tuple) -> tuple[Tensor, Tensor, Tensor, Tensor, Tensor]:
    """Backward of additive_attention_forward. dc: (N, Dh).

    Returns (ds, dh, dW, dU, dv): (N, Ds), (N, T, Dh), (Ds, A), (Dh, A), (A,). h gets gradient both
    as the values averaged and through the scores. Use masked_softmax_backward.
    """
    s, h, W, U, v, t, alpha, sm_cache = cache
    # YOUR CODE HERE
    raise NotImplementedError("a10.additive_attention_backward")
    return ds, dh, dW, dU, dv
