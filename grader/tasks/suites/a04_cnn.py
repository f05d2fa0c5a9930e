"""What a04 (convolution, pooling, LeNet-5) checks: inputs for each task, and how each task is run.

Inputs and kernels are rectangular with distinct sizes, so swapped axes cannot pass; case 0
has a batch of one; strides and paddings vary by case (strides that do not tile the input
included: the output size rounds down, as in torch). Pooling inputs have no ties (values
at least 0.05 apart), so each window's maximum is unique; ReLU inputs stay clear of 0. In case
``LARGE_CASE`` the softmax cross-entropy's scores span +-1e3, and a training step's sit near 1e3
(its output bias is shifted).
Every task also checks that its function leaves its inputs unchanged (``dout.mul_(mask)``
corrupts the caller's gradient even when dx is right).
"""
from __future__ import annotations

import torch

from grader.tasks.inputs import (affine_backward_inputs, affine_inputs, batch_size, conv_out_shape, distinct_dims,
                                 distinct_values, elementwise, large_magnitude, out_size, randint, randn, scalar,
                                 softmax_inputs, with_dout)
from grader.tasks.model import Suite

SUITE = Suite("a04_cnn")

# (stride, pad) by case: public cases 0-3, hidden 0-5.
CONV_GEOMETRY = ((1, 0), (2, 1), (1, 2), (3, 1), (2, 0), (1, 1))
# (window height, window width, stride) by case: tiling, overlapping (AlexNet's 3/2), rectangular, gaps.
POOL_GEOMETRY = ((2, 2, 2), (3, 3, 2), (2, 3, 1), (2, 1, 3), (3, 2, 2), (1, 2, 2))


def conv_inputs(g: torch.Generator, case: int) -> dict:
    stride, pad = CONV_GEOMETRY[case % len(CONV_GEOMETRY)]
    n = batch_size(g, case, high=4)
    c, f = distinct_dims(g, 2, 1, 4)
    h, w = distinct_dims(g, 2, 5, 9)
    hh, ww = (3, 3) if case == 0 else distinct_dims(g, 2, 1, 4)  # square, then rectangular
    if pad > 1:  # a kernel narrower than the padding: a pad that mixes the two up shows
        hh, ww = max(hh, ww), 1
    return {"x": randn(g, n, c, h, w), "w": randn(g, f, c, hh, ww), "b": randn(g, f),
            "stride": stride, "pad": pad}


def im2col_inputs(g: torch.Generator, case: int) -> dict:
    kw = conv_inputs(g, case)
    hh, ww = kw["w"].shape[2:]
    return {"x": kw["x"], "hh": hh, "ww": ww, "stride": kw["stride"], "pad": kw["pad"]}


def col2im_inputs(g: torch.Generator, case: int) -> dict:
    kw = im2col_inputs(g, case)
    n, c, h, w = kw.pop("x").shape
    s, p, hh, ww = kw["stride"], kw["pad"], kw["hh"], kw["ww"]
    cols = randn(g, n, c * hh * ww, out_size(h, hh, s, p) * out_size(w, ww, s, p))
    return {"cols": cols, "x_shape": [n, c, h, w], **kw}


def pool_inputs(g: torch.Generator, case: int) -> dict:
    hh, ww, stride = POOL_GEOMETRY[case % len(POOL_GEOMETRY)]
    n = batch_size(g, case, high=4)
    c = randint(g, 1, 3)
    h, w = distinct_dims(g, 2, 4, 9)
    return {"x": distinct_values(g, n, c, h, w, gap=0.05, spread=1.5, jitter=0.025), "hh": hh, "ww": ww,
            "stride": stride}


def pool_out_shape(kw: dict) -> tuple[int, ...]:
    n, c, h, w = kw["x"].shape
    return n, c, out_size(h, kw["hh"], kw["stride"]), out_size(w, kw["ww"], kw["stride"])


def flatten_inputs(g: torch.Generator, case: int) -> dict:
    n = batch_size(g, case, high=4)
    c, h, w = distinct_dims(g, 3, 1, 5)
    return {"x": randn(g, n, c, h, w)}


def flat_shape(kw: dict) -> tuple[int, ...]:
    return kw["x"].shape[0], kw["x"][0].numel()


WEIGHT_GRADS = dict(grads=("dx", "dw", "db"), wrt=("x", "w", "b"))

SUITE.call("conv_forward_naive", "conv", conv_inputs)
SUITE.backward("conv_backward_naive", "conv_forward_naive", "conv", with_dout(conv_inputs, conv_out_shape),
               **WEIGHT_GRADS)
SUITE.call("im2col", "conv", im2col_inputs, outputs=("cols",))
SUITE.call("col2im", "conv", col2im_inputs, outputs=("x",))
SUITE.call("conv_forward", "conv", conv_inputs, calls=("im2col",))
SUITE.backward("conv_backward", "conv_forward", "conv", with_dout(conv_inputs, conv_out_shape), **WEIGHT_GRADS,
               calls=("im2col", "col2im"))
for kind in ("max", "avg"):
    SUITE.call(f"{kind}_pool_forward", "pool", pool_inputs)
    SUITE.backward(f"{kind}_pool_backward", f"{kind}_pool_forward", "pool", with_dout(pool_inputs, pool_out_shape))
SUITE.call("flatten_forward", "pool", flatten_inputs)
SUITE.backward("flatten_backward", "flatten_forward", "pool", with_dout(flatten_inputs, flat_shape))
SUITE.call("affine_forward", "layers", affine_inputs)
SUITE.backward("affine_backward", "affine_forward", "layers", affine_backward_inputs, **WEIGHT_GRADS)
SUITE.call("relu_forward", "layers", elementwise(0.0, spatial=True))
SUITE.backward("relu_backward", "relu_forward", "layers", with_dout(elementwise(0.0, spatial=True)))
SUITE.loss("softmax_cross_entropy", "layers", large_magnitude(softmax_inputs(10), "scores"), wrt="scores")

NAMES = ("C1_w", "C1_b", "C3_w", "C3_b", "C5_w", "C5_b", "F6_w", "F6_b", "out_w", "out_b")
FORWARDS = ("conv_forward", "im2col", "relu_forward", "max_pool_forward", "flatten_forward", "affine_forward")
BACKWARDS = ("conv_backward", "col2im", "relu_backward", "max_pool_backward", "flatten_backward", "affine_backward")


def lenet_inputs(g: torch.Generator, case: int) -> dict:
    """A narrow LeNet-5 on 16..20-pixel inputs: same layers, small enough to grade in milliseconds."""
    n = batch_size(g, case, high=4)
    c = randint(g, 1, 3)
    h, w = (16, 16) if case == 0 else distinct_dims(g, 2, 16, 20)
    c1, c3, c5, f6, k = distinct_dims(g, 5, 2, 6)
    s4 = (((h - 4) // 2 - 4) // 2) * (((w - 4) // 2 - 4) // 2)
    shapes = {"C1_w": (c1, c, 5, 5), "C3_w": (c3, c1, 5, 5), "C5_w": (c3 * s4, c5), "F6_w": (c5, f6),
              "out_w": (f6, k)}
    params = {}
    for layer in ("C1", "C3", "C5", "F6", "out"):
        shape = shapes[f"{layer}_w"]
        fan_in = shape[0] if len(shape) == 2 else shape[1] * 25
        params[f"{layer}_w"] = randn(g, *shape, scale=(2.0 / fan_in) ** 0.5)
        params[f"{layer}_b"] = randn(g, shape[1] if len(shape) == 2 else shape[0], scale=0.1)
    return {"x": randn(g, n, c, h, w), "params": params}


def lenet_scores_shape(kw: dict) -> tuple[int, ...]:
    return kw["x"].shape[0], kw["params"]["out_w"].shape[1]  # (N, K)


def train_step_inputs(g: torch.Generator, case: int) -> dict:
    kw = lenet_inputs(g, case)
    k = kw["params"]["out_w"].shape[1]
    kw["y"] = torch.randint(0, k, (kw["x"].shape[0],), generator=g)
    kw["lr"] = scalar(g, 0.01, 0.5)
    return kw


def named_grads(function: str, grads) -> dict:
    if not isinstance(grads, dict) or set(grads) != set(NAMES):
        got = sorted(grads) if isinstance(grads, dict) else type(grads).__name__
        raise TypeError(f"{function} must return a dict with the keys {', '.join(NAMES)}; got {got}")
    return grads


def lenet_scores(m, x, params, dscores=None):
    """The network's class scores (N, K); ``dscores``, the backward task's upstream gradient, plays no part."""
    return m.lenet.lenet_forward(x, params)[0]


def lenet_forward_run(m, x, params):
    scores, _ = m.lenet.lenet_forward(x, params)
    return {"scores": scores}


def lenet_backward_run(m, x, params, dscores):
    _, cache = m.lenet.lenet_forward(x, params)
    grads = named_grads("lenet_backward", m.lenet.lenet_backward(dscores, cache))
    return {f"d{k}": grads[k] for k in NAMES}


def train_step_run(m, x, y, params, lr):
    loss, new = m.lenet.lenet_train_step(x, y, params, lr)
    return {"loss": loss, **named_grads("lenet_train_step", new)}  # the inputs-unchanged check sees params stay


SUITE.composite("lenet_forward", "lenet", lenet_inputs, lenet_forward_run, calls=FORWARDS)
SUITE.composite("lenet_backward", "lenet", with_dout(lenet_inputs, lenet_scores_shape, name="dscores"),
                lenet_backward_run, wrt={f"d{k}": f"params.{k}" for k in NAMES}, forward=lenet_scores,
                upstream="dscores", calls=("lenet_forward",) + FORWARDS + BACKWARDS)
# The output bias shifts every score alike: the loss and gradients are those of the unshifted scores.
SUITE.composite("lenet_train_step", "lenet", large_magnitude(train_step_inputs, "params.out_b", "shift"),
                train_step_run,
                calls=("lenet_forward", "lenet_backward", "softmax_cross_entropy") + FORWARDS + BACKWARDS)
