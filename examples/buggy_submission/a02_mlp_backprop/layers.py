"""Layers of a multilayer perceptron, each a ``forward -> (out, cache)`` / ``backward(dout, cache)`` pair.

Every function takes and returns ``torch.Tensor``s and works with autograd off: the
backward passes are written by hand. Shapes: N examples, D inputs, M outputs.
"""
from __future__ import annotations

import torch

Tensor = torch.Tensor


def sigmoid_forward(x: Tensor) -> tuple[Tensor, Tensor]:
    """Logistic sigmoid, elementwise: out = 1 / (1 + exp(-x)).

    x: any shape. Returns (out, cache) with out of x's shape.
    """
    # Two branches so exp never overflows: exp(-x) for x >= 0, exp(x) for x < 0.
    z = torch.exp(-x.abs())
    out = torch.where(x >= 0, 1.0 / (1.0 + z), z / (1.0 + z))
    cache = out
    return out, cache


def sigmoid_backward(dout: Tensor, cache: Tensor) -> Tensor:
    """Gradient of the sigmoid: dx = dout * s * (1 - s), where s is the forward's output.

    dout: upstream gradient, the shape of the forward's output. Returns dx of that shape.
    """
    out = cache
    dx = dout * out * (1.0 - out)
    return dx


def tanh_forward(x: Tensor) -> tuple[Tensor, Tensor]:
    """Hyperbolic tangent, elementwise. x: any shape. Returns (out, cache)."""
    out = torch.tanh(x)
    cache = out
    return out, cache


def tanh_backward(dout: Tensor, cache: Tensor) -> Tensor:
    """Gradient of tanh: dx = dout * (1 - tanh(x)^2). Returns dx, the shape of dout."""
    out = cache
    dx = dout * (out * out - 1.0)
    return dx


def relu_forward(x: Tensor) -> tuple[Tensor, Tensor]:
    """Rectified linear unit, elementwise: out = max(0, x). Returns (out, cache)."""
    out = torch.clamp(x, min=0.0)
    cache = x
    return out, cache


def relu_backward(dout: Tensor, cache: Tensor) -> Tensor:
    """Gradient of ReLU: dout where x > 0, else 0 (the kink at 0 gets 0). Returns dx."""
    x = cache
    dx = dout * (x > 0).to(dout.dtype)
    return dx


def leaky_relu_forward(x: Tensor, slope: float = 0.01) -> tuple[Tensor, Tensor]:
    """Leaky ReLU: out = x where x > 0, slope * x elsewhere. Returns (out, cache)."""
    out = torch.where(x > 0, x, slope * x)
    cache = (x, slope)
    return out, cache


def leaky_relu_backward(dout: Tensor, cache: tuple[Tensor, float]) -> Tensor:
    """Gradient of leaky ReLU: dout where x > 0, slope * dout elsewhere. Returns dx."""
    x, slope = cache
    dx = torch.where(x > 0, dout, slope * dout)
    return dx


def softplus_forward(x: Tensor) -> tuple[Tensor, Tensor]:
    """Softplus, a smooth ReLU: out = log(1 + exp(x)), computed without overflow. Returns (out, cache)."""
    out = torch.clamp(x, min=0.0) + torch.log1p(torch.exp(-x.abs()))  # stable for large |x|
    cache = x
    return out, cache


def softplus_backward(dout: Tensor, cache: Tensor) -> Tensor:
    """Gradient of softplus: dx = dout * sigmoid(x). Returns dx."""
    x = cache
    z = torch.exp(-x.abs())
    sig = torch.where(x >= 0, 1.0 / (1.0 + z), z / (1.0 + z))
    dx = dout * sig
    return dx


def affine_forward(x: Tensor, w: Tensor, b: Tensor) -> tuple[Tensor, tuple]:
    """Fully connected layer: out = x @ w + b.

    x: (N, D) inputs; w: (D, M) weights; b: (M,) biases. Returns (out, cache), out: (N, M).
    """
    out = x @ w + b  # (N, M)
    cache = (x, w, b)
    return out, cache


def affine_backward(dout: Tensor, cache: tuple) -> tuple[Tensor, Tensor, Tensor]:
    """Backward pass of the fully connected layer.

    dout: (N, M). Returns (dx, dw, db) of shapes (N, D), (D, M), (M,).
    """
    x, w, b = cache
    dx = dout @ w.T  # (N, D)
    dw = dout.T @ x  # (D, M)
    db = dout.sum(dim=0)  # (M,)
    return dx, dw, db


def softmax_cross_entropy(scores: Tensor, y: Tensor) -> tuple[Tensor, Tensor]:
    """Mean softmax cross-entropy loss and its gradient.

    scores: (N, C) unnormalised class scores; y: (N,) int64 labels in [0, C).
    Returns (loss, dscores): loss is a 0-d tensor, dscores is (N, C).
    """
    shifted = scores - scores.amax(dim=1, keepdim=True)  # stabilise exp
    log_probs = shifted - torch.logsumexp(shifted, dim=0, keepdim=True)  # (N, C)
    n = scores.shape[0]
    loss = -log_probs[torch.arange(n, device=scores.device), y].mean()
    dscores = torch.exp(log_probs)  # softmax, (N, C)
    dscores[torch.arange(n, device=scores.device), y] -= 1.0
    dscores = dscores / n
    return loss, dscores


def mse_loss(pred: Tensor, target: Tensor) -> tuple[Tensor, Tensor]:
    """Squared error, halved and averaged over the batch: loss = sum((pred - target)^2) / (2N).

    pred, target: (N, K). Returns (loss, dpred): loss is 0-d, dpred is (N, K).
    For one example this is Mazur's total error E = sum of 1/2 (target - out)^2.
    """
    n = pred.shape[0]
    diff = pred - target  # (N, K)
    loss = 0.5 * (diff * diff).sum() / n
    dpred = diff / n
    return loss, dpred
