"""A multilayer perceptron of any depth, built from the layers in layers.py, and its SGD step.

Parameters are a list of (W, b) pairs, one per layer: W_l is (D_{l-1}, D_l), b_l is (D_l,).
Hidden layers use ``hidden`` as activation; the last layer uses ``output`` ("identity" for
scores fed to softmax cross-entropy, "sigmoid" for Mazur's network). Each layer is one
affine-activation sandwich: a forward returning (out, cache), a backward unpacking that cache.
"""
from __future__ import annotations

import torch

from . import layers

Tensor = torch.Tensor
Params = list[tuple[Tensor, Tensor]]

ACTIVATIONS = {
    "sigmoid": (layers.sigmoid_forward, layers.sigmoid_backward),
    "tanh": (layers.tanh_forward, layers.tanh_backward),
    "relu": (layers.relu_forward, layers.relu_backward),
    "leaky_relu": (layers.leaky_relu_forward, layers.leaky_relu_backward),
    "softplus": (layers.softplus_forward, layers.softplus_backward),
}


# A layer as a sandwich, as in CS231n's layer_utils.py; a02 keeps its own so the package stands alone.
def affine_activation_forward(x: Tensor, w: Tensor, b: Tensor, activation: str) -> tuple[Tensor, tuple]:
    """One layer: affine, then ``activation`` (a key of ACTIVATIONS, or "identity" for none).

    x: (N, D); w: (D, M); b: (M,). Returns (out, cache), out: (N, M);
    cache = (activation, affine_cache, activation_cache), activation_cache None for "identity".
    """
    ### BEGIN SOLUTION
    a, affine_cache = layers.affine_forward(x, w, b)  # (N, M)
    if activation == "identity":
        out, act_cache = a, None
    else:
        out, act_cache = ACTIVATIONS[activation][0](a)
    ### END SOLUTION
    cache = (activation, affine_cache, act_cache)
    return out, cache


def affine_activation_backward(dout: Tensor, cache: tuple) -> tuple[Tensor, Tensor, Tensor]:
    """Backward pass of :func:`affine_activation_forward`, activation then affine.

    dout: (N, M). Returns (dx, dw, db) of shapes (N, D), (D, M), (M,).
    """
    activation, affine_cache, act_cache = cache
    ### BEGIN SOLUTION
    da = dout if activation == "identity" else ACTIVATIONS[activation][1](dout, act_cache)  # (N, M)
    dx, dw, db = layers.affine_backward(da, affine_cache)  # (N, D)
    ### END SOLUTION
    return dx, dw, db


def mlp_forward(x: Tensor, params: Params, hidden: str = "relu",
                output: str = "identity") -> tuple[Tensor, list]:
    """Forward pass: affine -> hidden activation for every layer but the last, which uses ``output``.

    x: (N, D0). params: [(W1, b1), ..., (WL, bL)]. Returns (out, cache); out is (N, DL).
    The cache holds what mlp_backward needs: one affine_activation_forward cache per layer.
    """
    ### BEGIN SOLUTION
    caches = []
    h = x
    for i, (w, b) in enumerate(params):
        name = hidden if i < len(params) - 1 else output
        h, layer_cache = affine_activation_forward(h, w, b, name)  # (N, D_l)
        caches.append(layer_cache)
    out, cache = h, caches
    ### END SOLUTION
    return out, cache


def mlp_backward(dout: Tensor, cache: list) -> list[tuple[Tensor, Tensor]]:
    """Backward pass through every layer, last to first.

    dout: (N, DL), the gradient of the loss with respect to mlp_forward's output.
    Returns grads: [(dW1, db1), ..., (dWL, dbL)], shaped like params.
    """
    ### BEGIN SOLUTION
    grads = []
    d = dout
    for layer_cache in reversed(cache):
        d, dw, db = affine_activation_backward(d, layer_cache)  # (N, D_{l-1})
        grads.append((dw, db))
    grads.reverse()
    ### END SOLUTION
    return grads


def sgd_step(params: Params, grads: list[tuple[Tensor, Tensor]], lr: float) -> Params:
    """One step of gradient descent: W <- W - lr * dW, b <- b - lr * db.

    Returns new parameters; the inputs are left unchanged.
    """
    ### BEGIN SOLUTION
    new_params = [(w - lr * dw, b - lr * db) for (w, b), (dw, db) in zip(params, grads)]
    ### END SOLUTION
    return new_params


def init_params(sizes: list[int], generator: torch.Generator, dtype=torch.float64) -> Params:
    """He-style initialisation for layer sizes [D0, D1, ..., DL]; biases start at zero."""
    params = []
    for d_in, d_out in zip(sizes[:-1], sizes[1:]):
        w = torch.randn(d_in, d_out, generator=generator, dtype=dtype) * (2.0 / d_in) ** 0.5
        params.append((w, torch.zeros(d_out, dtype=dtype)))
    return params
