"""What a02 (MLP and backprop) checks: inputs for each task, and how each task is run.

Shapes use distinct sizes so a transposed result cannot pass; case 0 has a batch of one;
ReLU inputs stay clear of the kink at 0. Where exp or log is evaluated (sigmoid, tanh and
softplus forward, softplus backward, softmax cross-entropy) case ``LARGE_CASE`` holds inputs near
1e3; sigmoid's and tanh's backward take dx from the forward's output, so theirs stay moderate
(they would only count a forward's overflow twice). Every task also checks that its function
leaves the inputs unchanged (``dout.mul_(mask)`` in a backward corrupts the caller's gradient
even when dx is right).
"""
from __future__ import annotations

import torch

from grader.tasks.inputs import (affine_backward_inputs, affine_inputs, batch_size, distinct_dims, elementwise,
                                 large_magnitude, layer_params, network_out_shape, randint, randn, scalar,
                                 softmax_inputs, with_dout)
from grader.tasks.model import Suite, layer_pairs

SUITE = Suite("a02_mlp_backprop")


def leaky_inputs(g: torch.Generator, case: int) -> dict:
    kw = elementwise(0.0)(g, case)
    kw["slope"] = [0.01, 0.2, 0.05][case % 3]
    return kw


def mse_inputs(g: torch.Generator, case: int) -> dict:
    n, k = batch_size(g, case), randint(g, 1, 5)
    return {"pred": randn(g, n, k), "target": randn(g, n, k)}


SATURATING = large_magnitude(elementwise())  # sigmoid, tanh, softplus: exp must not overflow
# (activation, forward's inputs, backward's inputs)
ACTIVATION_INPUTS = (("sigmoid", SATURATING, elementwise()), ("tanh", SATURATING, elementwise()),
                     ("relu", elementwise(0.0), elementwise(0.0)), ("softplus", SATURATING, SATURATING))
for act, forward_inputs, backward_inputs in ACTIVATION_INPUTS:
    SUITE.call(f"{act}_forward", "layers", forward_inputs)
    SUITE.backward(f"{act}_backward", f"{act}_forward", "layers", with_dout(backward_inputs))
SUITE.call("leaky_relu_forward", "layers", leaky_inputs)
SUITE.backward("leaky_relu_backward", "leaky_relu_forward", "layers", with_dout(leaky_inputs))
SUITE.call("affine_forward", "layers", affine_inputs)
SUITE.backward("affine_backward", "affine_forward", "layers", affine_backward_inputs,
               grads=("dx", "dw", "db"), wrt=("x", "w", "b"))
SUITE.loss("softmax_cross_entropy", "layers", large_magnitude(softmax_inputs(8), "scores"), wrt="scores")
SUITE.loss("mse_loss", "layers", mse_inputs, wrt="pred")

ACTS = ("sigmoid", "tanh", "relu", "leaky_relu", "softplus")
FORWARDS = ("affine_forward",) + tuple(f"{a}_forward" for a in ACTS)
BACKWARDS = ("affine_backward",) + tuple(f"{a}_backward" for a in ACTS)


def mlp_inputs(g: torch.Generator, case: int) -> dict:
    depth = 1 + case % 3 + (1 if case >= 3 else 0)  # 1..4 layers
    sizes = distinct_dims(g, depth + 1, 2, 6)
    n = batch_size(g, case)
    params = layer_params(g, sizes, w_scale=0.8, b_scale=0.5)
    hidden = ACTS[case % len(ACTS)] if case else "relu"
    output = "identity" if case % 2 == 0 else "sigmoid"
    x = randn(g, n, sizes[0])
    return {"x": x, "params": params, "hidden": hidden, "output": output}


def sgd_inputs(g: torch.Generator, case: int) -> dict:
    kw = mlp_inputs(g, case)
    grads = [[randn(g, *w.shape), randn(g, *b.shape)] for w, b in kw["params"]]
    return {"params": kw["params"], "grads": grads, "lr": scalar(g, 0.01, 0.5)}


def mlp_out(m, x, params, hidden, output, dout=None):
    """The network's output (N, K); ``dout``, the backward task's upstream gradient, plays no part."""
    out, _ = m.mlp.mlp_forward(x, [tuple(p) for p in params], hidden=hidden, output=output)
    return out


def mlp_forward_run(m, **kw):
    return {"out": mlp_out(m, **kw)}


def mlp_backward_run(m, x, params, hidden, output, dout):
    _, cache = m.mlp.mlp_forward(x, [tuple(p) for p in params], hidden=hidden, output=output)
    return layer_pairs("mlp_backward", m.mlp.mlp_backward(dout, cache), len(params))


def sgd_run(m, params, grads, lr):
    new = m.mlp.sgd_step([tuple(p) for p in params], [tuple(p) for p in grads], lr)
    return layer_pairs("sgd_step", new, len(params), ("W", "b"))  # the inputs-unchanged check sees params stay


# dW1, db1, ... for up to five layers (a case has one to four), each the gradient of its params entry.
MLP_WRT = {f"d{p}{i}": f"params.{i - 1}.{j}" for i in range(1, 6) for j, p in enumerate("Wb")}

SUITE.composite("mlp_forward", "mlp", mlp_inputs, mlp_forward_run, calls=FORWARDS)
SUITE.composite("mlp_backward", "mlp", with_dout(mlp_inputs, network_out_shape), mlp_backward_run,
                wrt=MLP_WRT, forward=mlp_out, upstream="dout", calls=("mlp_forward",) + BACKWARDS)
SUITE.composite("sgd_step", "mlp", sgd_inputs, sgd_run)
