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
"""
from __future__ import annotations

import torch

from . import conv, layers, pool

Tensor = torch.Tensor
Params = dict[str, Tensor]
PARAM_NAMES = ("C1_w", "C1_b", "C3_w", "C3_b", "C5_w", "C5_b", "F6_w", "F6_b", "out_w", "out_b")


def lenet_forward(x: Tensor, params: Params) -> tuple[Tensor, list]:
    """Scores of every class for a batch of images.

    x: (N, C, H, W); params as in the module docstring. Returns (scores, cache), scores: (N, K)
    with K = out_w.shape[1]. Convolutions use stride 1 and no padding; pools are 2x2, stride 2.
    """
    ### BEGIN SOLUTION
    p = params
    c1, c1_cache = conv.conv_forward(x, p["C1_w"], p["C1_b"])  # (N, 6, H-4, W-4)
    a1, a1_cache = layers.relu_forward(c1)
    s2, s2_cache = pool.max_pool_forward(a1, 2, 2, 2)  # (N, 6, (H-4)/2, (W-4)/2)
    c3, c3_cache = conv.conv_forward(s2, p["C3_w"], p["C3_b"])  # (N, 16, ., .)
    a3, a3_cache = layers.relu_forward(c3)
    s4, s4_cache = pool.max_pool_forward(a3, 2, 2, 2)  # (N, 16, ., .)
    flat, flat_cache = pool.flatten_forward(s4)  # (N, 400) for a 32x32 input
    c5, c5_cache = layers.affine_forward(flat, p["C5_w"], p["C5_b"])  # (N, 120)
    a5, a5_cache = layers.relu_forward(c5)
    f6, f6_cache = layers.affine_forward(a5, p["F6_w"], p["F6_b"])  # (N, 84)
    a6, a6_cache = layers.relu_forward(f6)
    scores, out_cache = layers.affine_forward(a6, p["out_w"], p["out_b"])  # (N, K)
    cache = [c1_cache, a1_cache, s2_cache, c3_cache, a3_cache, s4_cache, flat_cache,
             c5_cache, a5_cache, f6_cache, a6_cache, out_cache]
    ### END SOLUTION
    return scores, cache


def lenet_backward(dscores: Tensor, cache: list) -> Params:
    """Backward pass through every layer of :func:`lenet_forward`, output to C1.

    dscores: (N, K). Returns grads: a dict with the keys of params, grads[k] shaped like
    params[k] (grads["C1_w"] is dC1_w, the gradient of the loss with respect to C1_w).
    """
    ### BEGIN SOLUTION
    (c1_cache, a1_cache, s2_cache, c3_cache, a3_cache, s4_cache, flat_cache,
     c5_cache, a5_cache, f6_cache, a6_cache, out_cache) = cache
    grads: Params = {}
    da6, grads["out_w"], grads["out_b"] = layers.affine_backward(dscores, out_cache)  # (N, 84)
    df6 = layers.relu_backward(da6, a6_cache)
    da5, grads["F6_w"], grads["F6_b"] = layers.affine_backward(df6, f6_cache)  # (N, 120)
    dc5 = layers.relu_backward(da5, a5_cache)
    dflat, grads["C5_w"], grads["C5_b"] = layers.affine_backward(dc5, c5_cache)  # (N, 400)
    ds4 = pool.flatten_backward(dflat, flat_cache)  # (N, 16, 5, 5)
    da3 = pool.max_pool_backward(ds4, s4_cache)  # (N, 16, 10, 10)
    dc3 = layers.relu_backward(da3, a3_cache)
    ds2, grads["C3_w"], grads["C3_b"] = conv.conv_backward(dc3, c3_cache)  # (N, 6, 14, 14)
    da1 = pool.max_pool_backward(ds2, s2_cache)  # (N, 6, 28, 28)
    dc1 = layers.relu_backward(da1, a1_cache)
    _, grads["C1_w"], grads["C1_b"] = conv.conv_backward(dc1, c1_cache)
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
