"""The masked softmax every attention in this assignment normalises its scores with, and its backward.

A mask is boolean, True where a position may be attended to (torch's ``scaled_dot_product_attention``
convention), and broadcasts against the scores. Every row must keep at least one position.
"""
from __future__ import annotations

import torch

Tensor = torch.Tensor


def masked_softmax_forward(x: Tensor, mask: Tensor | None = None, dim: int = -1) -> tuple[Tensor, tuple]:
    """p = softmax(x) along ``dim``, with the positions where ``mask`` is False given probability 0.

    x: any shape; mask: boolean, broadcastable to x, or None. Subtract the (unmasked) maximum
    before exponentiating, so scores near 1e3 do not overflow. Returns (p, cache), p shaped like x.
    """
    ### BEGIN SOLUTION
    if mask is not None:
        x = x.masked_fill(~mask, float("-inf"))  # masked scores: exp(-inf) = 0
    x = x - x.amax(dim=dim, keepdim=True)  # stabilise exp
    ex = torch.exp(x)
    p = ex / ex.sum(dim=dim, keepdim=True)
    ### END SOLUTION
    cache = (p, dim)
    return p, cache


def masked_softmax_backward(dp: Tensor, cache: tuple) -> Tensor:
    """Backward of masked_softmax_forward: dx = p * (dp - sum(dp * p)), the sum along the softmax's dim.

    dp: shaped like p. Returns dx, shaped like x (zero at masked positions).
    """
    p, dim = cache
    ### BEGIN SOLUTION
    dx = p * (dp - (dp * p).sum(dim=dim, keepdim=True))
    ### END SOLUTION
    return dx
