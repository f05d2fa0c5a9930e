"""The fully connected pieces LeNet needs, carried over from a02: affine, ReLU, softmax cross-entropy.

Paste your a02 solutions here; they are graded again because LeNet is built on them.
Shapes: N examples, D inputs, M outputs, K classes.
"""
from __future__ import annotations

import torch

Tensor = torch.Tensor


def affine_forward(x: Tensor, w: Tensor, b: Tensor) -> tuple[Tensor, tuple]:
    """Fully connected layer: out = x @ w + b.

    x: (N, D); w: (D, M); b: (M,). Returns (out, cache), out: (N, M).
    """
    # YOUR CODE HERE
    raise NotImplementedError("a04.affine_forward")
    cache = (x, w, b)
    return out, cache


def affine_backward(dout: Tensor, cache: tuple) -> tuple[Tensor, Tensor, Tensor]:
    """Backward pass of the fully connected layer.

    dout: (N, M). Returns (dx, dw, db) of shapes (N, D), (D, M), (M,).
    """
    x, w, b = cache
    # YOUR CODE HERE
    raise NotImplementedError("a04.affine_backward")
    return dx, dw, db


def relu_forward(x: Tensor) -> tuple[Tensor, Tensor]:
    """Rectified linear unit, elementwise: out = max(0, x). x: any shape. Returns (out, cache)."""
    # YOUR CODE HERE
    raise NotImplementedError("a04.relu_forward")
    cache = x
    return out, cache


def relu_backward(dout: Tensor, cache: Tensor) -> Tensor:
    """Gradient of ReLU: dout where x > 0, else 0. Returns dx, the shape of dout."""
    x = cache
    # YOUR CODE HERE
    raise NotImplementedError("a04.relu_backward")
    return dx


def softmax_cross_entropy(scores: Tensor, y: Tensor) -> tuple[Tensor, Tensor]:
    """Mean softmax cross-entropy loss and its gradient.

    scores: (N, K) class scores; y: (N,) int64 labels in [0, K).
    Returns (loss, dscores): loss is a 0-d tensor, dscores is (N, K).
    """
    # YOUR CODE HERE
    raise NotImplementedError("a04.softmax_cross_entropy")
    return loss, dscores
