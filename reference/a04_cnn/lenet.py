"""LeNet-5 (LeCun et al. 1998) assembled from this assignment's layers, its backward pass and a training step.

The modern variant: every C3 map sees all six S2 maps, ReLU instead of the scaled tanh,
max pooling instead of trainable subsampling, and a linear 10-way output instead of the
RBF units. For a 1x32x32 input:

    C1 conv 6@5x5 (28x28) -> ReLU -> S2 max pool 2x2/2 (14x14)
    C3 conv 16@5x5 (10x10) -> ReLU -> S4 max pool 2x2/2 (5x5) -> flatten (400)
    C5 fully connected 400->120 -> ReLU -> F6 120->84 -> ReLU -> output 84->10

C5 is a 5x5 convolution over a 5x5 map in the paper, the same as a fully connected layer.
Parameters are a dict of tensors named after the layers (``C1_w`` (6, C, 5, 5), ``C1_b`` (6,),
..., ``out_w`` (84, 10), ``out_b`` (10,)); the layer sizes are read from their shapes, so
smaller inputs and narrower layers work as long as the shapes agree.

The network is composed of sandwiches: conv-ReLU-pool for C1-S2 and C3-S4, affine-ReLU for C5
and F6, each a forward returning (out, cache) and a backward unpacking the same cache.
"""
from __future__ import annotations

import torch

from . import conv, layers, pool

Tensor = torch.Tensor
Params = dict[str, Tensor]
PARAM_NAMES = ("C1_w", "C1_b", "C3_w", "C3_b", "C5_w", "C5_b", "F6_w", "F6_b", "out_w", "out_b")


# Sandwich layers as in CS231n's layer_utils.py; a04 keeps its own so the package stands alone.
def conv_relu_pool_forward(x: Tensor, w: Tensor, b: Tensor) -> tuple[Tensor, tuple]:
    """Convolution (stride 1, no padding) -> ReLU -> 2x2 max pool with stride 2, as C1 -> S2 and C3 -> S4.

    x: (N, C, H, W); w: (F, C, HH, WW); b: (F,). Returns (out, cache), out: (N, F, H', W') with
    H' = (H - HH + 1) // 2 and W' = (W - WW + 1) // 2; cache = (conv_cache, relu_cache, pool_cache).
    """
    ### BEGIN SOLUTION
    c, conv_cache = conv.conv_forward(x, w, b)  # (N, F, H - HH + 1, W - WW + 1)
    a, relu_cache = layers.relu_forward(c)
    out, pool_cache = pool.max_pool_forward(a, 2, 2, 2)  # (N, F, H', W')
    ### END SOLUTION
    cache = (conv_cache, relu_cache, pool_cache)
    return out, cache


def conv_relu_pool_backward(dout: Tensor, cache: tuple) -> tuple[Tensor, Tensor, Tensor]:
    """Backward pass of :func:`conv_relu_pool_forward`, pool to convolution.

    dout: (N, F, H', W'). Returns (dx, dw, db) of shapes (N, C, H, W), (F, C, HH, WW), (F,).
    """
    conv_cache, relu_cache, pool_cache = cache
    ### BEGIN SOLUTION
    da = pool.max_pool_backward(dout, pool_cache)  # (N, F, H - HH + 1, W - WW + 1)
    dc = layers.relu_backward(da, relu_cache)
    dx, dw, db = conv.conv_backward(dc, conv_cache)  # (N, C, H, W)
    ### END SOLUTION
    return dx, dw, db


def affine_relu_forward(x: Tensor, w: Tensor, b: Tensor) -> tuple[Tensor, tuple]:
    """Fully connected layer -> ReLU, as C5 and F6.

    x: (N, D); w: (D, M); b: (M,). Returns (out, cache), out: (N, M); cache = (fc_cache, relu_cache).
    """
    ### BEGIN SOLUTION
    a, fc_cache = layers.affine_forward(x, w, b)  # (N, M)
    out, relu_cache = layers.relu_forward(a)
    ### END SOLUTION
    cache = (fc_cache, relu_cache)
    return out, cache


def affine_relu_backward(dout: Tensor, cache: tuple) -> tuple[Tensor, Tensor, Tensor]:
    """Backward pass of :func:`affine_relu_forward`. dout: (N, M). Returns (dx, dw, db): (N, D), (D, M), (M,)."""
    fc_cache, relu_cache = cache
    ### BEGIN SOLUTION
    da = layers.relu_backward(dout, relu_cache)
    dx, dw, db = layers.affine_backward(da, fc_cache)  # (N, D)
    ### END SOLUTION
    return dx, dw, db


def lenet_forward(x: Tensor, params: Params) -> tuple[Tensor, list]:
    """Scores of every class for a batch of images.

    x: (N, C, H, W); params as in the module docstring. Returns (scores, cache), scores: (N, K)
    with K = out_w.shape[1]. Convolutions use stride 1 and no padding; pools are 2x2, stride 2.
    The cache holds one cache per sandwich, in order: [C1-S2, C3-S4, flatten, C5, F6, output].
    """
    ### BEGIN SOLUTION
    p = params
    s2, c1_cache = conv_relu_pool_forward(x, p["C1_w"], p["C1_b"])  # (N, 6, (H-4)/2, (W-4)/2)
    s4, c3_cache = conv_relu_pool_forward(s2, p["C3_w"], p["C3_b"])  # (N, 16, ., .)
    flat, flat_cache = pool.flatten_forward(s4)  # (N, 400) for a 32x32 input
    a5, c5_cache = affine_relu_forward(flat, p["C5_w"], p["C5_b"])  # (N, 120)
    a6, f6_cache = affine_relu_forward(a5, p["F6_w"], p["F6_b"])  # (N, 84)
    scores, out_cache = layers.affine_forward(a6, p["out_w"], p["out_b"])  # (N, K)
    cache = [c1_cache, c3_cache, flat_cache, c5_cache, f6_cache, out_cache]
    ### END SOLUTION
    return scores, cache


def lenet_backward(dscores: Tensor, cache: list) -> Params:
    """Backward pass through every sandwich of :func:`lenet_forward`, output to C1.

    dscores: (N, K). Returns grads: a dict with the keys of params, grads[k] shaped like
    params[k] (grads["C1_w"] is dC1_w, the gradient of the loss with respect to C1_w).
    """
    ### BEGIN SOLUTION
    c1_cache, c3_cache, flat_cache, c5_cache, f6_cache, out_cache = cache
    grads: Params = {}
    da6, grads["out_w"], grads["out_b"] = layers.affine_backward(dscores, out_cache)  # (N, 84)
    da5, grads["F6_w"], grads["F6_b"] = affine_relu_backward(da6, f6_cache)  # (N, 120)
    dflat, grads["C5_w"], grads["C5_b"] = affine_relu_backward(da5, c5_cache)  # (N, 400)
    ds4 = pool.flatten_backward(dflat, flat_cache)  # (N, 16, 5, 5)
    ds2, grads["C3_w"], grads["C3_b"] = conv_relu_pool_backward(ds4, c3_cache)  # (N, 6, 14, 14)
    _, grads["C1_w"], grads["C1_b"] = conv_relu_pool_backward(ds2, c1_cache)
    grads = {k: grads[k] for k in PARAM_NAMES}
    ### END SOLUTION
    return grads


def lenet_train_step(x: Tensor, y: Tensor, params: Params, lr: float) -> tuple[Tensor, Params]:
    """One step of minibatch gradient descent on the mean softmax cross-entropy.

    x: (N, C, H, W); y: (N,) int64 labels. Returns (loss, new_params): loss is the 0-d loss
    before the step, new_params[k] = params[k] - lr * dparams[k]. params is left unchanged.
    """
    ### BEGIN SOLUTION
    scores, cache = lenet_forward(x, params)  # (N, K)
    loss, dscores = layers.softmax_cross_entropy(scores, y)
    grads = lenet_backward(dscores, cache)
    new_params = {k: params[k] - lr * grads[k] for k in params}
    ### END SOLUTION
    return loss, new_params


def init_lenet(generator: torch.Generator, in_channels: int = 1, size: int = 32, classes: int = 10,
               widths: tuple[int, int, int, int] = (6, 16, 120, 84), dtype=torch.float64) -> Params:
    """He-initialised LeNet-5 parameters for square ``size`` inputs; biases start at zero."""
    c1, c3, c5, f6 = widths
    s4 = ((size - 4) // 2 - 4) // 2  # side of the S4 maps: 5 for a 32x32 input
    shapes = {"C1_w": (c1, in_channels, 5, 5), "C3_w": (c3, c1, 5, 5), "C5_w": (c3 * s4 * s4, c5),
              "F6_w": (c5, f6), "out_w": (f6, classes)}
    params: Params = {}
    for layer in ("C1", "C3", "C5", "F6", "out"):
        shape = shapes[f"{layer}_w"]
        fan_in = shape[0] if len(shape) == 2 else shape[1] * shape[2] * shape[3]
        params[f"{layer}_w"] = torch.randn(*shape, generator=generator, dtype=dtype) * (2.0 / fan_in) ** 0.5
        params[f"{layer}_b"] = torch.zeros(shape[1] if len(shape) == 2 else shape[0], dtype=dtype)
    return {k: params[k] for k in PARAM_NAMES}


def parameter_count(params: Params) -> int:
    return sum(p.numel() for p in params.values())
