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
    ### BEGIN SOLUTION
    out = x @ w + b  # (N, M)
    ### END SOLUTION
    cache = (x, w, b)
    return out, cache


def affine_backward(dout: Tensor, cache: tuple) -> tuple[Tensor, Tensor, Tensor]:
    """Backward pass of the fully connected layer.

    dout: (N, M). Returns (dx, dw, db) of shapes (N, D), (D, M), (M,).
    """
    x, w, b = cache
    ### BEGIN SOLUTION
    dx = dout @ w.T  # (N, D)
    dw = x.T @ dout  # (D, M)
    db = dout.sum(dim=0)  # (M,)
    ### END SOLUTION
    return dx, dw, db


def relu_forward(x: Tensor) -> tuple[Tensor, Tensor]:
    """Rectified linear unit, elementwise: out = max(0, x). x: any shape. Returns (out, cache)."""
    ### BEGIN SOLUTION
    out = torch.clamp(x, min=0.0)
    ### END SOLUTION
    cache = x
    return out, cache


def relu_backward(dout: Tensor, cache: Tensor) -> Tensor:
    """Gradient of ReLU: dout where x > 0, else 0. Returns dx, the shape of dout."""
    x = cache
    ### BEGIN SOLUTION
    dx = dout * (x > 0).to(dout.dtype)
    ### END SOLUTION
    return dx


def softmax_cross_entropy(scores: Tensor, y: Tensor) -> tuple[Tensor, Tensor]:
    """Mean softmax cross-entropy loss and its gradient.

    scores: (N, K) class scores; y: (N,) int64 labels in [0, K).
    Returns (loss, dscores): loss is a 0-d tensor, dscores is (N, K).
    """
    ### BEGIN SOLUTION
    shifted = scores - scores.amax(dim=1, keepdim=True)  # stabilise exp
    log_probs = shifted - torch.logsumexp(shifted, dim=1, keepdim=True)  # (N, K)
    n = scores.shape[0]
    rows = torch.arange(n, device=scores.device)
    loss = -log_probs[rows, y].mean()
    dscores = torch.exp(log_probs)  # softmax, (N, K)
    dscores[rows, y] -= 1.0
    dscores = dscores / n
    ### END SOLUTION
    return loss, dscores
