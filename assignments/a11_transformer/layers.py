"""The transformer's other layers: sinusoidal positional encoding, layer normalization and the position-wise feed-forward block.

Linear maps follow torch's layout, y = x W^T + b with W (out, in), and act on the last axis of
inputs of any leading shape (N, T, E).
"""
from __future__ import annotations

import torch

Tensor = torch.Tensor


def positional_encoding(length: int, d_model: int, base: float = 10000.0) -> Tensor:
    """The sinusoidal encoding of section 3.5 of the paper, float64 (length, d_model):

    PE[pos, 2i] = sin(pos / base^(2i / d_model)),  PE[pos, 2i + 1] = cos(pos / base^(2i / d_model)).
    An odd d_model has one more sine column than cosine columns.
    """
    # YOUR CODE HERE
    raise NotImplementedError("a11.positional_encoding")
    return pe


def layer_norm_forward(x: Tensor, gamma: Tensor, beta: Tensor, eps: float = 1e-5) -> tuple[Tensor, tuple]:
    """Layer normalization (Ba et al., 2016): each position normalised over its own features (the last axis).

    out = gamma * (x - mean) / sqrt(var + eps) + beta, mean and biased var over the last axis.
    x: (..., D); gamma, beta: (D,). Returns (out, cache), out shaped like x.
    """
    # YOUR CODE HERE
    raise NotImplementedError("a11.layer_norm_forward")
    cache = (xhat, ivar, gamma)
    return out, cache


def layer_norm_backward(dout: Tensor, cache: tuple) -> tuple[Tensor, Tensor, Tensor]:
    """Backward pass of layer_norm_forward. dout: (..., D).

    Returns (dx, dgamma, dbeta): dx shaped like x, dgamma and dbeta (D,) summed over every position.
    """
    xhat, ivar, gamma = cache
    # YOUR CODE HERE
    raise NotImplementedError("a11.layer_norm_backward")
    return dx, dgamma, dbeta


def feed_forward_forward(x: Tensor, w1: Tensor, b1: Tensor, w2: Tensor, b2: Tensor) -> tuple[Tensor, tuple]:
    """The position-wise feed-forward block, FFN(x) = max(0, x W1^T + b1) W2^T + b2, at every position alike.

    x: (..., E); w1: (F, E); b1: (F,); w2: (E, F); b2: (E,). Returns (out, cache), out: (..., E).
    """
    # YOUR CODE HERE
    raise NotImplementedError("a11.feed_forward_forward")
    cache = (x, w1, w2, pre, hidden)
    return out, cache


def feed_forward_backward(dout: Tensor, cache: tuple) -> tuple[Tensor, Tensor, Tensor, Tensor, Tensor]:
    """Backward pass of feed_forward_forward. dout: (..., E).

    Returns (dx, dw1, db1, dw2, db2) shaped like x, w1, b1, w2, b2.
    """
    x, w1, w2, pre, hidden = cache
    # YOUR CODE HERE
    raise NotImplementedError("a11.feed_forward_backward")
    return dx, dw1, db1, dw2, db2
