"""Central differences: the one numeric-gradient helper, used by the child's diagnosis and by the tests.

Runs inside the sandbox: it imports nothing but torch.
"""
from __future__ import annotations

from typing import Callable

import torch


def central_difference(objective: Callable[[torch.Tensor], float], x: torch.Tensor, h: float) -> torch.Tensor:
    """d objective / dx, element by element: ``(objective(x + h e_i) - objective(x - h e_i)) / 2h``.

    ``objective`` receives a perturbed copy of ``x`` (never ``x`` itself); the gradient is float64,
    shaped like ``x``.
    """
    base = x.detach().clone()
    grad = torch.zeros_like(base, dtype=torch.float64)
    for i in range(base.numel()):
        for sign in (1.0, -1.0):
            pert = base.clone()
            pert.view(-1)[i] += sign * h
            grad.view(-1)[i] += sign * objective(pert) / (2 * h)
    return grad


def weighted_sum(out: torch.Tensor, dout: torch.Tensor | None) -> float:
    """``sum(out * dout)`` in float64 (``sum(out)`` without an upstream gradient): the scalar whose
    gradient a backward pass computes."""
    out = out.to(torch.float64)
    return float((out * dout.to(torch.float64)).sum()) if dout is not None else float(out.sum())
