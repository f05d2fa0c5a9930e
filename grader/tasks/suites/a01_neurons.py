"""What a01 (neurons and learning rules) checks: inputs for each task, and how each task is run.

Threshold units get binary inputs with exact ties (w.x == theta must fire) in one case and
continuous inputs in the others; shapes use distinct sizes; case 0 has a batch of one; the sigmoid
unit's net inputs pass +-1e3 in case ``LARGE_CASE``. Every task also checks that its function
leaves its inputs unchanged.
"""
from __future__ import annotations

import torch

from grader.tasks.inputs import (LARGE, batch_size, binary, bipolar, distinct_dims, large_magnitude, randint, randn,
                                 scalar, uniform)
from grader.tasks.model import Suite

SUITE = Suite("a01_neurons")
F64 = torch.float64
GATES = ("AND", "OR", "NOT", "NAND")


def ltu_inputs(g: torch.Generator, case: int) -> dict:
    n, d = batch_size(g, case, 8), randint(g, 2, 6)
    if case % 2 == 1:  # integers: some net inputs land exactly on the threshold
        w = torch.randint(-2, 3, (d,), generator=g).to(F64)
        return {"x": binary(g, n, d), "w": w, "theta": torch.tensor(float(randint(g, -1, 2)), dtype=F64)}
    return {"x": randn(g, n, d), "w": randn(g, d), "theta": randn(g, 1)[0]}


SUITE.call("ltu_forward", "units", ltu_inputs, ("y",))


def gate_inputs(g: torch.Generator, case: int) -> dict:
    return {"name": GATES[case % len(GATES)]}


def gate_run(m, name: str) -> dict:
    """The gate's truth table under a threshold rule computed here, not by the student's ltu_forward."""
    w, theta = m.units.gate_weights(name)
    d = 1 if name == "NOT" else 2
    if not isinstance(w, torch.Tensor) or w.shape != (d,):
        raise TypeError(f"gate_weights('{name}') must return w of shape ({d},), got "
                        f"{tuple(w.shape) if isinstance(w, torch.Tensor) else type(w).__name__}")
    codes = torch.arange(2 ** d)
    x = ((codes[:, None] >> torch.arange(d - 1, -1, -1)) & 1).to(F64).to(w.device)  # (2**d, d)
    table = (x @ w.to(F64) >= torch.as_tensor(theta, dtype=F64, device=w.device)).to(F64)
    return {"table": table}


SUITE.composite("gate_weights", "units", gate_inputs, gate_run)


def boundary_inputs(g: torch.Generator, case: int) -> dict:
    w = randn(g, 2)
    w[1] = w[1].sign() * (w[1].abs() + 0.2)  # keep the line away from vertical
    return {"w": w, "theta": randn(g, 1)[0], "x1": randn(g, batch_size(g, case))}


SUITE.call("decision_boundary", "units", boundary_inputs, ("x2",))


def perceptron_inputs(g: torch.Generator, case: int) -> dict:
    n, d = randint(g, 5, 12), randint(g, 2, 5)
    if case == 0:  # binary inputs from zero weights: ties at the start, exact arithmetic
        x, w, theta = binary(g, n, d), torch.zeros(d, dtype=F64), torch.tensor(0.0, dtype=F64)
        lr = 1.0
    else:
        x, w, theta = randn(g, n, d), randn(g, d, scale=0.5), randn(g, 1)[0]
        lr = scalar(g, 0.1, 1.0)
    return {"x": x, "t": binary(g, n), "w": w, "theta": theta, "lr": lr}


SUITE.call("perceptron_epoch", "rules", perceptron_inputs, ("w", "theta", "mistakes"))


def unit_inputs(g: torch.Generator, case: int) -> dict:
    n, d = batch_size(g, case), randint(g, 2, 6)
    return {"x": randn(g, n, d), "t": uniform(g, n, low=0.0, high=1.0) if case % 2 else randn(g, n),
            "w": randn(g, d), "b": randn(g, 1)[0], "lr": scalar(g, 0.05, 0.8)}


SUITE.call("lms_step", "rules", unit_inputs, ("w", "b"))
# The net input x.w + b sums D terms of either sign: x ten times larger, so it passes exp's overflow (709.78).
SUITE.call("sigmoid_delta_step", "rules", large_magnitude(unit_inputs, magnitude=10 * LARGE), ("w", "b"))


def hebbian_inputs(components: int | None):
    def make(g: torch.Generator, case: int) -> dict:
        n = batch_size(g, case)
        if components is None:
            d = randint(g, 2, 6)
            w = randn(g, d)
        else:
            d, k = distinct_dims(g, 2, 2, 5)
            d, k = max(d, k), min(d, k)  # K components of D-dimensional data
            w = randn(g, d, k, scale=0.5)
        return {"x": randn(g, n, d), "w": w, "lr": scalar(g, 0.01, 0.5)}
    return make


SUITE.call("hebb_step", "rules", hebbian_inputs(None), ("w",))
SUITE.call("oja_step", "rules", hebbian_inputs(None), ("w",))
SUITE.call("sanger_step", "rules", hebbian_inputs(2), ("w",))


def pattern_inputs(g: torch.Generator, case: int) -> dict:
    p, u = distinct_dims(g, 2, 1, 9)
    return {"patterns": bipolar(g, p, u)}


SUITE.call("hopfield_weights", "hopfield", pattern_inputs, ("w",))


def hopfield_inputs(g: torch.Generator, case: int) -> dict:
    u, n = randint(g, 4, 9), batch_size(g, case)
    if case % 2 == 0:  # integer Hebbian weights: some local fields are exactly 0
        p = bipolar(g, 2, u)
        w = p.T @ p
        w.fill_diagonal_(0.0)
    else:
        w = randn(g, u, u)
        w = (w + w.T) / 2
        w.fill_diagonal_(0.0)
    order = torch.randint(0, u, (randint(g, u, 2 * u),), generator=g)  # units may repeat
    return {"w": w, "s": bipolar(g, n, u), "order": order}


SUITE.call("hopfield_update", "hopfield", hopfield_inputs, ("s",))

LAYOUTS = (("weighted_sum", "step", True), ("weighted_sum", "sign", True), ("weighted_sum", "sigmoid", False),
           ("distance", "identity", True), ("weighted_sum", "identity", False), ("distance", "sigmoid", False))


def generic_inputs(g: torch.Generator, case: int) -> dict:
    transfer, activation, asynchronous = LAYOUTS[case % len(LAYOUTS)]
    u, n = randint(g, 3, 7), batch_size(g, case)
    s = bipolar(g, n, u) if activation == "sign" else randn(g, n, u)
    order = torch.randint(0, u, (randint(g, 2, 2 * u),), generator=g) if asynchronous else None
    return {"w": randn(g, u, u), "theta": randn(g, u, scale=0.5), "s": s, "transfer": transfer,
            "activation": activation, "order": order}


SUITE.call("generic_step", "generic", generic_inputs, ("s",))

