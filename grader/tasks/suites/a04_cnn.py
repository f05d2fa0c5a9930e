"""What a04 (convolution, pooling, LeNet-5) checks: inputs for each task, and how each task is run.

Inputs and kernels are rectangular with distinct sizes, so swapped axes cannot pass; case 0
has a batch of one; strides and paddings vary by case (strides that do not tile the input
included: the output size rounds down, as in torch). Pooling inputs have no ties (values
at least 0.05 apart), so each window's maximum is unique; ReLU inputs stay clear of 0.
Every task also checks that its function leaves its inputs unchanged (``dout.mul_(mask)``
corrupts the caller's gradient even when dx is right).
"""
from __future__ import annotations

import torch

from grader.tasks.model import Suite, Task, keeps_inputs
from grader.tasks.inputs import (affine_backward_inputs, affine_inputs, away_from, batch_size, distinct_dims,
                                 randint, randn, uniform)

SUITE = Suite("a04_cnn")
P = SUITE.prefix

# (stride, pad) by case: public cases 0-3, hidden 0-5.
CONV_GEOMETRY = ((1, 0), (2, 1), (1, 2), (3, 1), (2, 0), (1, 1))
# (window height, window width, stride) by case: tiling, overlapping (AlexNet's 3/2), rectangular, gaps.
POOL_GEOMETRY = ((2, 2, 2), (3, 3, 2), (2, 3, 1), (2, 1, 3), (3, 2, 2), (1, 2, 2))


def out_size(size: int, kernel: int, stride: int, pad: int) -> int:
    return (size + 2 * pad - kernel) // stride + 1


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


def conv_backward_inputs(g: torch.Generator, case: int) -> dict:
    kw = conv_inputs(g, case)
    (n, _, h, w), (f, _, hh, ww) = kw["x"].shape, kw["w"].shape
    s, p = kw["stride"], kw["pad"]
    kw["dout"] = randn(g, n, f, out_size(h, hh, s, p), out_size(w, ww, s, p))
    return kw


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


SUITE.call("conv_forward_naive", "conv", conv_inputs)
SUITE.backward("conv_backward_naive", "conv_forward_naive", "conv", conv_backward_inputs,
               grads=("dx", "dw", "db"), wrt=("x", "w", "b"))
SUITE.call("im2col", "conv", im2col_inputs, outputs=("cols",))
SUITE.call("col2im", "conv", col2im_inputs, outputs=("x",))
SUITE.call("conv_forward", "conv", conv_inputs, calls=(f"{P}.im2col",))
SUITE.backward("conv_backward", "conv_forward", "conv", conv_backward_inputs,
               grads=("dx", "dw", "db"), wrt=("x", "w", "b"), calls=(f"{P}.im2col", f"{P}.col2im"))


def distinct_values(g: torch.Generator, *shape: int, gap: float = 0.05) -> torch.Tensor:
    """A random arrangement of values at least ``gap`` apart: no window can hold a tie."""
    numel = 1
    for s in shape:
        numel *= s
    ranks = torch.randperm(numel, generator=g).to(torch.float64)
    jitter = torch.rand(numel, generator=g, dtype=torch.float64) * gap * 0.5
    return ((ranks - numel / 2) * gap * 1.5 + jitter).reshape(shape)  # neighbours 0.05..0.1 apart


def pool_inputs(g: torch.Generator, case: int) -> dict:
    hh, ww, stride = POOL_GEOMETRY[case % len(POOL_GEOMETRY)]
    n = batch_size(g, case, high=4)
    c = randint(g, 1, 3)
    h, w = distinct_dims(g, 2, 4, 9)
    return {"x": distinct_values(g, n, c, h, w), "hh": hh, "ww": ww, "stride": stride}


def pool_backward_inputs(g: torch.Generator, case: int) -> dict:
    kw = pool_inputs(g, case)
    n, c, h, w = kw["x"].shape
    hh, ww, s = kw["hh"], kw["ww"], kw["stride"]
    kw["dout"] = randn(g, n, c, out_size(h, hh, s, 0), out_size(w, ww, s, 0))
    return kw


for kind in ("max", "avg"):
    SUITE.call(f"{kind}_pool_forward", "pool", pool_inputs)
    SUITE.backward(f"{kind}_pool_backward", f"{kind}_pool_forward", "pool", pool_backward_inputs,
                   grads=("dx",), wrt=("x",))


def flatten_inputs(g: torch.Generator, case: int) -> dict:
    n = batch_size(g, case, high=4)
    c, h, w = distinct_dims(g, 3, 1, 5)
    return {"x": randn(g, n, c, h, w)}


def flatten_backward_inputs(g: torch.Generator, case: int) -> dict:
    kw = flatten_inputs(g, case)
    kw["dout"] = randn(g, kw["x"].shape[0], kw["x"][0].numel())
    return kw


SUITE.call("flatten_forward", "pool", flatten_inputs)
SUITE.backward("flatten_backward", "flatten_forward", "pool", flatten_backward_inputs,
               grads=("dx",), wrt=("x",))


def relu_inputs(g: torch.Generator, case: int) -> dict:
    n, c, h, w = batch_size(g, case), *distinct_dims(g, 3, 1, 5)
    return {"x": away_from(g, n, c, h, w, kink=0.0, scale=2.0)}


def relu_backward_inputs(g: torch.Generator, case: int) -> dict:
    kw = relu_inputs(g, case)
    kw["dout"] = randn(g, *kw["x"].shape)
    return kw


def softmax_inputs(g: torch.Generator, case: int) -> dict:
    n, k = batch_size(g, case), randint(g, 3, 10)
    scores = randn(g, n, k, scale=3.0)
    if case == 2:
        scores = scores + 1000.0  # large magnitudes: the max must be subtracted
    return {"scores": scores, "y": torch.randint(0, k, (n,), generator=g)}


def softmax_run(m, scores, y):
    loss, dscores = m.layers.softmax_cross_entropy(scores, y)
    return {"loss": loss, "dscores": dscores}


def softmax_forward(m, scores, y):
    return m.layers.softmax_cross_entropy(scores, y)[0]


SUITE.call("affine_forward", "layers", affine_inputs)
SUITE.backward("affine_backward", "affine_forward", "layers", affine_backward_inputs,
               grads=("dx", "dw", "db"), wrt=("x", "w", "b"))
SUITE.call("relu_forward", "layers", relu_inputs)
SUITE.backward("relu_backward", "relu_forward", "layers", relu_backward_inputs, grads=("dx",), wrt=("x",))
SUITE.add(Task(f"{P}.softmax_cross_entropy", "layers", softmax_inputs, softmax_run, grads=("dscores",),
               forward=softmax_forward, wrt={"dscores": "scores"}))

NAMES = ("C1_w", "C1_b", "C3_w", "C3_b", "C5_w", "C5_b", "F6_w", "F6_b", "out_w", "out_b")
FORWARDS = tuple(f"{P}.{t}" for t in ("conv_forward", "im2col", "relu_forward", "max_pool_forward",
                                      "flatten_forward", "affine_forward"))
BACKWARDS = tuple(f"{P}.{t}" for t in ("conv_backward", "col2im", "relu_backward", "max_pool_backward",
                                       "flatten_backward", "affine_backward"))


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


def lenet_forward_run(m, x, params):
    scores, _ = m.lenet.lenet_forward(x, params)
    return {"scores": scores}


def lenet_backward_inputs(g: torch.Generator, case: int) -> dict:
    kw = lenet_inputs(g, case)
    kw["dscores"] = randn(g, kw["x"].shape[0], kw["params"]["out_w"].shape[1])
    return kw


def named_grads(function: str, grads) -> dict:
    if not isinstance(grads, dict) or set(grads) != set(NAMES):
        got = sorted(grads) if isinstance(grads, dict) else type(grads).__name__
        raise TypeError(f"{function} must return a dict with the keys {', '.join(NAMES)}; got {got}")
    return grads


def lenet_backward_run(m, x, params, dscores):
    _, cache = m.lenet.lenet_forward(x, params)
    grads = named_grads("lenet_backward", m.lenet.lenet_backward(dscores, cache))
    return {f"d{k}": grads[k] for k in NAMES}


def lenet_backward_forward(m, x, params, dscores):
    return m.lenet.lenet_forward(x, params)[0]


SUITE.add(Task(f"{P}.lenet_forward", "lenet", lenet_inputs, lenet_forward_run, calls=FORWARDS))
SUITE.add(Task(f"{P}.lenet_backward", "lenet", lenet_backward_inputs, lenet_backward_run,
               grads=tuple(f"d{k}" for k in NAMES), forward=lenet_backward_forward,
               wrt={f"d{k}": f"params.{k}" for k in NAMES}, upstream="dscores",
               calls=(f"{P}.lenet_forward",) + FORWARDS + BACKWARDS))


def train_step_inputs(g: torch.Generator, case: int) -> dict:
    kw = lenet_inputs(g, case)
    k = kw["params"]["out_w"].shape[1]
    kw["y"] = torch.randint(0, k, (kw["x"].shape[0],), generator=g)
    kw["lr"] = float(uniform(g, 1, low=0.01, high=0.5))
    return kw


def train_step_run(m, x, y, params, lr):
    loss, new = m.lenet.lenet_train_step(x, y, params, lr)
    return {"loss": loss, **named_grads("lenet_train_step", new)}  # keeps_inputs checks params stay


SUITE.add(Task(f"{P}.lenet_train_step", "lenet", train_step_inputs, train_step_run,
               calls=(f"{P}.lenet_forward", f"{P}.lenet_backward", f"{P}.softmax_cross_entropy")
               + FORWARDS + BACKWARDS))

for _task_id in list(SUITE.tasks):
    SUITE.tasks[_task_id] = keeps_inputs(SUITE.tasks[_task_id])
