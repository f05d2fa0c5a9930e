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
    # YOUR CODE HERE
    raise NotImplementedError("a02.sigmoid_forward")
    cache = out
    return out, cache


def sigmoid_backward(dout: Tensor, cache: Tensor) -> Tensor:
    """Gradient of the sigmoid: dx = dout * s * (1 - s), where s is the forward's output.

    dout: upstream gradient, the shape of the forward's output. Returns dx of that shape.
    """
    out = cache
    # YOUR CODE HERE
    raise NotImplementedError("a02.sigmoid_backward")
    return dx


def tanh_forward(x: Tensor) -> tuple[Tensor, Tensor]:
    """Hyperbolic tangent, elementwise. x: any shape. Returns (out, cache)."""
    # YOUR CODE HERE
    raise NotImplementedError("a02.tanh_forward")
    cache = out
    return out, cache


def tanh_backward(dout: Tensor, cache: Tensor) -> Tensor:
    """Gradient of tanh: dx = dout * (1 - tanh(x)^2). Returns dx, the shape of dout."""
    out = cache
    # YOUR CODE HERE
    raise NotImplementedError("a02.tanh_backward")
    return dx


def relu_forward(x: Tensor) -> tuple[Tensor, Tensor]:
    """Rectified linear unit, elementwise: out = max(0, x). Returns (out, cache)."""
    # YOUR CODE HERE
    raise NotImplementedError("a02.relu_forward")
    cache = x
    return out, cache


def relu_backward(dout: Tensor, cache: Tensor) -> Tensor:
    """Gradient of ReLU: dout where x > 0, else 0 (the kink at 0 gets 0). Returns dx."""
    x = cache
    # YOUR CODE HERE
    raise NotImplementedError("a02.relu_backward")
    return dx


def leaky_relu_forward(x: Tensor, slope: float = 0.01) -> tuple[Tensor, Tensor]:
    """Leaky ReLU: out = x where x > 0, slope * x elsewhere. Returns (out, cache)."""
    # YOUR CODE HERE
    raise NotImplementedError("a02.leaky_relu_forward")
    cache = (x, slope)
    return out, cache


def leaky_relu_backward(dout: Tensor, cache: tuple[Tensor, float]) -> Tensor:
    """Gradient of leaky ReLU: dout where x > 0, slope * dout elsewhere. Returns dx."""
    x, slope = cache
    # YOUR CODE HERE
    raise NotImplementedError("a02.leaky_relu_backward")
    return dx


def softplus_forward(x: Tensor) -> tuple[Tensor, Tensor]:
    """Softplus, a smooth ReLU: out = log(1 + exp(x)), computed without overflow. Returns (out, cache)."""
    # YOUR CODE HERE
    raise NotImplementedError("a02.softplus_forward")
    cache = x
    return out, cache


def softplus_backward(dout: Tensor, cache: Tensor) -> Tensor:
    """Gradient of softplus: dx = dout * sigmoid(x). Returns dx."""
    x = cache
    # YOUR CODE HERE
    raise NotImplementedError("a02.softplus_backward")
    return dx


def affine_forward(x: Tensor, w: Tensor, b: Tensor) -> tuple[Tensor, tuple]:
    """Fully connected layer: out = x @ w + b.

    x: (N, D) inputs; w: (D, M) weights; b: (M,) biases. Returns (out, cache), out: (N, M).
    """
    # YOUR CODE HERE
    raise NotImplementedError("a02.affine_forward")
    cache = (x, w, b)
    return out, cache


def affine_backward(dout: Tensor, cache: tuple) -> tuple[Tensor, Tensor, Tensor]:
    """Backward pass of the fully connected layer.

    dout: (N, M). Returns (dx, dw, db) of shapes (N, D), (D, M), (M,).
    """
    x, w, b = cache
    # YOUR CODE HERE
    raise NotImplementedError("a02.affine_backward")
    return dx, dw, db


def softmax_cross_entropy(scores: Tensor, y: Tensor) -> tuple[Tensor, Tensor]:
    """Mean softmax cross-entropy loss and its gradient.

    scores: (N, C) unnormalised class scores; y: (N,) int64 labels in [0, C).
    Returns (loss, dscores): loss is a 0-d tensor, dscores is (N, C).
    """
    # YOUR CODE HERE
    raise NotImplementedError("a02.softmax_cross_entropy")
    return loss, dscores


def mse_loss(pred: Tensor, target: Tensor) -> tuple[Tensor, Tensor]:
    """Squared error, halved and averaged over the batch: loss = sum((pred - target)^2) / (2N).

    pred, target: (N, K). Returns (loss, dpred): loss is 0-d, dpred is (N, K).
    For one example this is Mazur's total error E = sum of 1/2 (target - out)^2.
    """
    # YOUR CODE HERE
    raise NotImplementedError("a02.mse_loss")
    return loss, dpred
