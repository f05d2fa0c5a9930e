"""What a02 (MLP and backprop) checks: inputs for each task, and how each task is run.

Shapes use distinct sizes so a transposed result cannot pass; case 0 has a batch of one;
ReLU inputs stay clear of the kink at 0; softmax cases include scores near 1e3. Every task
also checks that its function leaves the inputs unchanged (``dout.mul_(mask)`` in a backward
corrupts the caller's gradient even when dx is right).
"""
from __future__ import annotations

import torch

from grader.tasks.model import Suite, Task, keeps_inputs, layer_pairs
from grader.tasks.inputs import (affine_backward_inputs, affine_inputs, away_from, batch_size, distinct_dims,
                                 randint, randn, uniform)

SUITE = Suite("a02_mlp_backprop")
F64 = torch.float64


def elementwise(kink: float | None = None, scale: float = 2.0):
    def make(g: torch.Generator, case: int) -> dict:
        n, d = batch_size(g, case), randint(g, 2, 7)
        x = randn(g, n, d, scale=scale) if kink is None else away_from(g, n, d, kink=kink, scale=scale)
        if case == 1:
            x = x * 20.0  # saturated units: exp must not overflow
        return {"x": x}
    return make


def with_dout(make):
    def inputs(g: torch.Generator, case: int) -> dict:
        kw = make(g, case)
        kw["dout"] = randn(g, *kw["x"].shape)
        return kw
    return inputs


for act, kink in (("sigmoid", None), ("tanh", None), ("relu", 0.0), ("softplus", None)):
    SUITE.call(f"{act}_forward", "layers", elementwise(kink))
    SUITE.backward(f"{act}_backward", f"{act}_forward", "layers", with_dout(elementwise(kink)),
                   grads=("dx",), wrt=("x",))


def leaky_inputs(g: torch.Generator, case: int) -> dict:
    kw = elementwise(0.0)(g, case)
    kw["slope"] = [0.01, 0.2, 0.05][case % 3]
    return kw


SUITE.call("leaky_relu_forward", "layers", leaky_inputs)
SUITE.backward("leaky_relu_backward", "leaky_relu_forward", "layers", with_dout(leaky_inputs),
               grads=("dx",), wrt=("x",))


SUITE.call("affine_forward", "layers", affine_inputs)
SUITE.backward("affine_backward", "affine_forward", "layers", affine_backward_inputs,
               grads=("dx", "dw", "db"), wrt=("x", "w", "b"))


def softmax_inputs(g: torch.Generator, case: int) -> dict:
    n, c = batch_size(g, case), randint(g, 3, 8)
    scores = randn(g, n, c, scale=3.0)
    if case == 2:
        scores = scores + 1000.0  # large magnitudes: the max must be subtracted
    y = torch.randint(0, c, (n,), generator=g)
    return {"scores": scores, "y": y}


def mse_inputs(g: torch.Generator, case: int) -> dict:
    n, k = batch_size(g, case), randint(g, 1, 5)
    return {"pred": randn(g, n, k), "target": randn(g, n, k)}


def loss_task(name: str, inputs, wrt: str) -> Task:
    module = "layers"

    def run(m, **kw):
        loss, dx = getattr(getattr(m, module), name)(**kw)
        return {"loss": loss, f"d{wrt}": dx}

    def forward(m, **kw):
        return getattr(getattr(m, module), name)(**kw)[0]

    return SUITE.add(Task(f"{SUITE.prefix}.{name}", module, inputs, run, grads=(f"d{wrt}",),
                          forward=forward, wrt={f"d{wrt}": wrt}))


loss_task("softmax_cross_entropy", softmax_inputs, "scores")
loss_task("mse_loss", mse_inputs, "pred")

ACTS = ("sigmoid", "tanh", "relu", "leaky_relu", "softplus")


def mlp_inputs(g: torch.Generator, case: int) -> dict:
    depth = 1 + case % 3 + (1 if case >= 3 else 0)  # 1..4 layers
    sizes = distinct_dims(g, depth + 1, 2, 6)
    n = batch_size(g, case)
    params = [[randn(g, a, b, scale=0.8), randn(g, b, scale=0.5)] for a, b in zip(sizes[:-1], sizes[1:])]
    hidden = ACTS[case % len(ACTS)] if case else "relu"
    output = "identity" if case % 2 == 0 else "sigmoid"
    x = randn(g, n, sizes[0])
    return {"x": x, "params": params, "hidden": hidden, "output": output}


def mlp_forward_run(m, x, params, hidden, output):
    out, _ = m.mlp.mlp_forward(x, [tuple(p) for p in params], hidden=hidden, output=output)
    return {"out": out}


FORWARDS = ("a02.affine_forward",) + tuple(f"a02.{a}_forward" for a in ACTS)
BACKWARDS = ("a02.affine_backward",) + tuple(f"a02.{a}_backward" for a in ACTS)
SUITE.add(Task("a02.mlp_forward", "mlp", mlp_inputs, mlp_forward_run, calls=FORWARDS))


def mlp_backward_inputs(g: torch.Generator, case: int) -> dict:
    kw = mlp_inputs(g, case)
    n, d_out = kw["x"].shape[0], kw["params"][-1][0].shape[1]
    kw["dout"] = randn(g, n, d_out)
    return kw


def mlp_backward_run(m, x, params, hidden, output, dout):
    _, cache = m.mlp.mlp_forward(x, [tuple(p) for p in params], hidden=hidden, output=output)
    return layer_pairs("mlp_backward", m.mlp.mlp_backward(dout, cache), len(params))


def mlp_backward_forward(m, x, params, hidden, output, dout):
    out, _ = m.mlp.mlp_forward(x, [tuple(p) for p in params], hidden=hidden, output=output)
    return out


def mlp_backward_task() -> Task:
    wrt = {}
    for i in range(1, 6):
        wrt[f"dW{i}"] = f"params.{i - 1}.0"
        wrt[f"db{i}"] = f"params.{i - 1}.1"
    grads = tuple(wrt)
    return Task("a02.mlp_backward", "mlp", mlp_backward_inputs, mlp_backward_run, grads=grads,
                forward=mlp_backward_forward, wrt=wrt, upstream="dout",
                calls=("a02.mlp_forward",) + BACKWARDS)


SUITE.add(mlp_backward_task())


def sgd_inputs(g: torch.Generator, case: int) -> dict:
    kw = mlp_inputs(g, case)
    grads = [[randn(g, *w.shape), randn(g, *b.shape)] for w, b in kw["params"]]
    return {"params": kw["params"], "grads": grads, "lr": float(uniform(g, 1, low=0.01, high=0.5))}


def sgd_run(m, params, grads, lr):
    new = m.mlp.sgd_step([tuple(p) for p in params], [tuple(p) for p in grads], lr)
    return layer_pairs("sgd_step", new, len(params), ("W", "b"))  # keeps_inputs checks params stay


SUITE.add(Task("a02.sgd_step", "mlp", sgd_inputs, sgd_run))

for _task_id in list(SUITE.tasks):
    SUITE.tasks[_task_id] = keeps_inputs(SUITE.tasks[_task_id])
