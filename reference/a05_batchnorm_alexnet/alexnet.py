"""AlexNet assembled by hand from layers.py: the layer table of the paper, its shapes and parameter counts, forward and backward.

An architecture is a list of layer specs (dicts), run in order. ``ALEXNET`` is the network of
Krizhevsky et al. (2012) for 3 x 227 x 227 images: five convolutions (conv2, conv4 and conv5
split into two groups, one per GPU), ReLU after each, local response normalization after
conv1 and conv2, overlapping max pooling (3, stride 2) after the normalizations and conv5,
then three fully connected layers with dropout after fc6 and fc7. Smaller architectures of
the same form (as the grader uses) run through the same functions. Forward and backward go
block by block: one conv or fc layer with the parameter-free layers after it, as one sandwich.

Parameters are a list of (W, b) pairs, one per conv or fc layer in order: a conv's W is
(F, C // groups, K, K), an fc's W is (D, M) as in ``affine_forward``.
"""
from __future__ import annotations

import copy

import torch

from . import layers

Tensor = torch.Tensor

LRN = {"k": 2.0, "n": 5, "alpha": 1e-4, "beta": 0.75}  # section 3.3 of the paper

ALEXNET: list[dict] = [
    {"name": "conv1", "type": "conv", "filters": 96, "kernel": 11, "stride": 4, "pad": 0, "groups": 1},
    {"name": "relu1", "type": "relu"},
    {"name": "norm1", "type": "lrn", **LRN},
    {"name": "pool1", "type": "pool", "kernel": 3, "stride": 2},
    {"name": "conv2", "type": "conv", "filters": 256, "kernel": 5, "stride": 1, "pad": 2, "groups": 2},
    {"name": "relu2", "type": "relu"},
    {"name": "norm2", "type": "lrn", **LRN},
    {"name": "pool2", "type": "pool", "kernel": 3, "stride": 2},
    {"name": "conv3", "type": "conv", "filters": 384, "kernel": 3, "stride": 1, "pad": 1, "groups": 1},
    {"name": "relu3", "type": "relu"},
    {"name": "conv4", "type": "conv", "filters": 384, "kernel": 3, "stride": 1, "pad": 1, "groups": 2},
    {"name": "relu4", "type": "relu"},
    {"name": "conv5", "type": "conv", "filters": 256, "kernel": 3, "stride": 1, "pad": 1, "groups": 2},
    {"name": "relu5", "type": "relu"},
    {"name": "pool5", "type": "pool", "kernel": 3, "stride": 2},
    {"name": "flatten", "type": "flatten"},
    {"name": "fc6", "type": "fc", "units": 4096},
    {"name": "relu6", "type": "relu"},
    {"name": "drop6", "type": "dropout"},
    {"name": "fc7", "type": "fc", "units": 4096},
    {"name": "relu7", "type": "relu"},
    {"name": "drop7", "type": "dropout"},
    {"name": "fc8", "type": "fc", "units": 1000},
]
INPUT = (3, 227, 227)  # (C, H, W)


def ungrouped(arch: list[dict]) -> list[dict]:
    """The same architecture with every convolution seeing all its input channels (groups = 1)."""
    arch = copy.deepcopy(arch)
    for spec in arch:
        if spec["type"] == "conv":
            spec["groups"] = 1
    return arch


def layer_shapes(arch: list[dict], in_shape: tuple[int, ...] = INPUT) -> list[tuple[str, tuple[int, ...]]]:
    """Each layer's output shape for one example, from the specs alone: [(name, (C, H, W) or (D,)), ...]."""
    shape, table = tuple(in_shape), []
    for spec in arch:
        kind = spec["type"]
        if kind == "conv":
            c, h, w = shape
            if c % spec["groups"] or spec["filters"] % spec["groups"]:
                raise ValueError(f"{spec['name']}: {c} channels and {spec['filters']} filters "
                                 f"do not split into {spec['groups']} groups")
            shape = (spec["filters"], layers.out_size(h, spec["kernel"], spec["stride"], spec["pad"]),
                     layers.out_size(w, spec["kernel"], spec["stride"], spec["pad"]))
        elif kind == "pool":
            c, h, w = shape
            shape = (c, layers.out_size(h, spec["kernel"], spec["stride"]),
                     layers.out_size(w, spec["kernel"], spec["stride"]))
        elif kind == "flatten":
            shape = (shape[0] * shape[1] * shape[2],)
        elif kind == "fc":
            shape = (spec["units"],)
        elif kind not in ("relu", "lrn", "dropout"):
            raise ValueError(f"unknown layer type {kind!r}")
        if min(shape) < 1:
            raise ValueError(f"{spec['name']}: the input is too small (output {shape})")
        table.append((spec["name"], shape))
    return table


def param_shapes(arch: list[dict], in_shape: tuple[int, ...] = INPUT) -> list[tuple[str, tuple, tuple]]:
    """[(name, W's shape, b's shape)] for every conv and fc layer, in order."""
    shapes, prev = [], tuple(in_shape)
    for spec, (name, shape) in zip(arch, layer_shapes(arch, in_shape)):
        if spec["type"] == "conv":
            k = spec["kernel"]
            shapes.append((name, (spec["filters"], prev[0] // spec["groups"], k, k), (spec["filters"],)))
        elif spec["type"] == "fc":
            shapes.append((name, (prev[0], spec["units"]), (spec["units"],)))
        prev = shape
    return shapes


def param_counts(arch: list[dict], in_shape: tuple[int, ...] = INPUT) -> dict[str, int]:
    """Weights plus biases of each conv and fc layer: {name: count}."""
    counts = {}
    for name, w, b in param_shapes(arch, in_shape):
        counts[name] = int(torch.Size(w).numel() + torch.Size(b).numel())
    return counts


def init_params(arch: list[dict], generator: torch.Generator, in_shape: tuple[int, ...] = INPUT,
                dtype=torch.float32, device: str | torch.device = "cpu") -> list[tuple[Tensor, Tensor]]:
    """He-initialised weights, zero biases, for every conv and fc layer of ``arch``."""
    params = []
    for _, w_shape, b_shape in param_shapes(arch, in_shape):
        fan_in = torch.Size(w_shape[1:]).numel() if len(w_shape) == 4 else w_shape[0]
        w = torch.randn(w_shape, generator=generator, dtype=dtype) * (2.0 / fan_in) ** 0.5
        params.append((w.to(device), torch.zeros(b_shape, dtype=dtype, device=device)))
    return params


LEARNED = ("conv", "fc")  # the layer types with a (W, b) pair in params


def blocks(arch: list[dict]) -> list[list[dict]]:
    """``arch`` cut before every conv and fc layer: each block is one learned layer and the
    parameter-free layers after it, as the paper counts eight layers (conv1, relu1, norm1, pool1
    is one). Parameter-free layers before the first learned one form a block of their own."""
    cut: list[list[dict]] = []
    for spec in arch:
        if spec["type"] in LEARNED or not cut:
            cut.append([])
        cut[-1].append(spec)
    return cut


# A block as one sandwich, as in CS231n's layer_utils.py; a05 keeps its own so the package stands alone.
def block_forward(x: Tensor, w: Tensor | None, b: Tensor | None, specs: list[dict], noise: list | None,
                  p: float = 0.5, train: bool = True) -> tuple[Tensor, tuple]:
    """Forward pass of one block of :func:`blocks`, layer by layer, with the functions of layers.py.

    x: (N, C, H, W), or (N, D) once flattened. w, b: the (W, b) of the block's conv or fc layer
    (None for a block without one). specs: the block's layer specs, as in alexnet_forward.
    noise: one tensor per dropout layer of the block, in order, shaped like its input (unused,
    may be None, when train is False). Returns (out, cache); out: (N, F, H', W') after a conv
    or pool, (N, C*H*W) after a flatten, (N, M) after an fc layer; cache: one (type, layer cache)
    pair per layer of specs, in order.
    """
    ### BEGIN SOLUTION
    h, caches = x, []
    noise = iter(noise or [])
    for spec in specs:
        kind = spec["type"]
        if kind == "conv":
            h, c = layers.conv_forward(h, w, b, spec["stride"], spec["pad"], spec["groups"])  # (N, F, H', W')
        elif kind == "relu":
            h, c = layers.relu_forward(h)
        elif kind == "lrn":
            h, c = layers.lrn_forward(h, spec["k"], spec["n"], spec["alpha"], spec["beta"])
        elif kind == "pool":
            h, c = layers.max_pool_forward(h, spec["kernel"], spec["stride"])  # (N, C, H', W')
        elif kind == "flatten":
            h, c = layers.flatten_forward(h)  # (N, C*H*W)
        elif kind == "fc":
            h, c = layers.affine_forward(h, w, b)  # (N, M)
        elif kind == "dropout":
            h, c = layers.dropout_forward(h, p, next(noise) if train else None, train)
        else:
            raise ValueError(f"unknown layer type {kind!r}")
        caches.append((kind, c))
    out, cache = h, tuple(caches)
    ### END SOLUTION
    return out, cache


def block_backward(dout: Tensor, cache: tuple) -> tuple[Tensor, Tensor | None, Tensor | None]:
    """Backward pass of :func:`block_forward`, its last layer to its first.

    dout: the shape of the block's output. Returns (dx, dw, db): dx shaped like the block's input x,
    dw and db like its w and b (None for a block without a conv or fc layer).
    """
    ### BEGIN SOLUTION
    backward = {"relu": layers.relu_backward, "lrn": layers.lrn_backward, "pool": layers.max_pool_backward,
                "flatten": layers.flatten_backward, "dropout": layers.dropout_backward}
    d, dw, db = dout, None, None
    for kind, c in reversed(cache):
        if kind == "conv":
            d, dw, db = layers.conv_backward(d, c)  # (N, C, H, W)
        elif kind == "fc":
            d, dw, db = layers.affine_backward(d, c)  # (N, D)
        else:
            d = backward[kind](d, c)  # the shape of that layer's input
    dx = d
    ### END SOLUTION
    return dx, dw, db


def alexnet_forward(x: Tensor, params: list, noise: list | None, arch: list[dict] = ALEXNET,
                    p: float = 0.5, train: bool = True) -> tuple[Tensor, list]:
    """Forward pass of the architecture ``arch``, block by block (see :func:`blocks`), with :func:`block_forward`.

    x: (N, C, H, W). params: [(W, b)] per conv / fc layer, in order. noise: one tensor per dropout
    layer, in order, shaped like that layer's input (unused, may be None, when train is False).
    p: dropout's drop probability. Layer specs: conv (stride, pad, groups; sizes come from W),
    pool (kernel, stride), lrn (k, n, alpha, beta), fc, relu, flatten, dropout.
    Returns (scores, cache); scores: (N, M) from the last fc layer; cache: one block_forward
    cache per block, in order.
    """
    ### BEGIN SOLUTION
    h, caches = x, []
    params, noise = iter(params), iter(noise or [])
    for specs in blocks(arch):
        w, b = next(params) if specs[0]["type"] in LEARNED else (None, None)
        masks = [next(noise) for spec in specs if spec["type"] == "dropout"] if train else None
        h, c = block_forward(h, w, b, specs, masks, p, train)  # (N, F, H', W') or (N, M)
        caches.append(c)
    scores, cache = h, caches
    ### END SOLUTION
    return scores, cache


def alexnet_backward(dout: Tensor, cache: list) -> list[tuple[Tensor, Tensor]]:
    """Backward pass through every block, last to first, with :func:`block_backward`.

    dout: (N, M), the gradient of the loss with respect to the scores.
    Returns grads: [(dW, db)] per conv / fc layer, in the order of params.
    """
    ### BEGIN SOLUTION
    grads, d = [], dout
    for c in reversed(cache):
        d, dw, db = block_backward(d, c)  # the shape of the block's input
        if dw is not None:  # a leading block without a conv or fc layer has no (dW, db)
            grads.append((dw, db))
    grads.reverse()
    ### END SOLUTION
    return grads
