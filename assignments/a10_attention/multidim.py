"""Multi-dimensional attention: DiSAN's feature-wise source-to-token attention (Shen et al., 2018) and the
structured self-attentive sentence embedding with its penalty (Lin et al., 2017).

Feature-wise attention gives every feature its own distribution over the positions; when all the
features of a position score alike it is ordinary (vector) attention.
"""
from __future__ import annotations

import torch

from .softmax import masked_softmax_backward, masked_softmax_forward

Tensor = torch.Tensor


def multidim_attention_forward(x: Tensor, W1: Tensor, b1: Tensor, W: Tensor, b: Tensor,
                               mask: Tensor | None = None) -> tuple[Tensor, Tensor, tuple]:
    """Multi-dimensional source-to-token attention: f(x_i) = elu(x_i W1 + b1) W + b, one score per
    feature; P = softmax over the positions i, separately for each feature; s = sum_i P_i * x_i.

    x: (N, T, D); W1: (D, D); b1: (D,); W: (D, D); b: (D,); mask: (N, T) boolean or None.
    elu(y) = y for y > 0, exp(y) - 1 otherwise. Use masked_softmax_forward.
    Returns (s, P, cache): (N, D), (N, T, D).
    """
    # YOUR CODE HERE
    raise NotImplementedError("a10.multidim_attention_forward")
    cache = (x, W1, W, pre, act, P, sm_cache)
    return s, P, cache


def multidim_attention_backward(ds: Tensor, cache: tuple) -> tuple[Tensor, ...]:
    """Backward of multidim_attention_forward. ds: (N, D). Returns (dx, dW1, db1, dW, db)."""
    x, W1, W, pre, act, P, sm_cache = cache
    # YOUR CODE HERE
    raise NotImplementedError("a10.multidim_attention_backward")
    return dx, dW1, db1, dW, db


def structured_attention_forward(H: Tensor, W1: Tensor, W2: Tensor,
                                 mask: Tensor | None = None) -> tuple[Tensor, Tensor, tuple]:
    """The structured self-attentive embedding: A = softmax(W2 tanh(W1 H^T)), each of the r rows a
    distribution over the T positions; M = A H.

    H: (N, T, D); W1: (da, D); W2: (r, da); mask: (N, T) boolean or None. Use masked_softmax_forward.
    Returns (M, A, cache): (N, r, D), (N, r, T).
    """
    # YOUR CODE HERE
    raise NotImplementedError("a10.structured_attention_forward")
    cache = (H, W1, W2, t, A, sm_cache)
    return M, A, cache


def structured_attention_backward(dM: Tensor, cache: tuple) -> tuple[Tensor, Tensor, Tensor]:
    """Backward of structured_attention_forward. dM: (N, r, D). Returns (dH, dW1, dW2)."""
    H, W1, W2, t, A, sm_cache = cache
    # YOUR CODE HERE
    raise NotImplementedError("a10.structured_attention_backward")
    return dH, dW1, dW2


def structured_penalty(A: Tensor, coef: float) -> tuple[Tensor, Tensor]:
    """coef * sum_n ||A_n A_n^T - I||_F^2, which pushes the r attention rows apart, and its gradient.

    A: (N, r, T). Returns (loss, dA): a scalar tensor and (N, r, T).
    """
    # YOUR CODE HERE
    raise NotImplementedError("a10.structured_penalty")
    return loss, dA
