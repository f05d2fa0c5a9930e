"""The linear threshold unit of McCulloch and Pitts: forward pass, logic gates, decision boundary.

A unit with weights w and threshold theta fires (y = 1) when its net input w.x reaches theta:
y = step(w.x - theta), with step(0) = 1. Shapes: N examples, D inputs. The graded functions
leave their inputs unchanged.
"""
from __future__ import annotations

import torch

Tensor = torch.Tensor

GATES = ("AND", "OR", "NOT", "NAND")
ARITY = {"AND": 2, "OR": 2, "NOT": 1, "NAND": 2}


def ltu_forward(x: Tensor, w: Tensor, theta: Tensor) -> Tensor:
    """Linear threshold unit: y = 1 where x.w >= theta, else 0.

    x: (N, D) inputs; w: (D,) weights; theta: 0-d threshold.
    Returns y: (N,), of x's dtype, holding 0.0 and 1.0 (a net input exactly at theta fires).
    """
    # YOUR CODE HERE
    raise NotImplementedError("a01.ltu_forward")
    return y


def gate_weights(name: str) -> tuple[Tensor, Tensor]:
    """Hand-set weights and threshold that make one threshold unit compute a logic gate.

    name: "AND", "OR", "NAND" (two inputs) or "NOT" (one input); inputs and output are 0/1.
    Returns (w, theta): w is float64 of shape (2,) or (1,) for NOT; theta is a float64 0-d tensor.
    Any weights whose truth table is right are accepted.
    """
    # YOUR CODE HERE
    raise NotImplementedError("a01.gate_weights")
    return w, theta


def decision_boundary(w: Tensor, theta: Tensor, x1: Tensor) -> Tensor:
    """The line w.x = theta of a two-input unit, solved for the second coordinate.

    w: (2,) weights with w[1] != 0; theta: 0-d; x1: (N,) first coordinates.
    Returns x2: (N,), the points (x1, x2) on the boundary.
    """
    # YOUR CODE HERE
    raise NotImplementedError("a01.decision_boundary")
    return x2


def truth_table(w: Tensor, theta: Tensor) -> tuple[Tensor, Tensor]:
    """All 0/1 inputs of a unit with len(w) inputs, in counting order, and the unit's outputs.

    Returns (x, y): x is (2**D, D) float64, y is (2**D,) float64.
    """
    d = w.numel()
    codes = torch.arange(2 ** d)
    x = ((codes[:, None] >> torch.arange(d - 1, -1, -1)) & 1).to(torch.float64)  # (2**D, D)
    return x, ltu_forward(x, w.to(torch.float64), theta.to(torch.float64))
