"""Input generators shared by the suites: one per kind of input, each a pure function of its generator.

Inputs come from seeds the grader controls: a suite's ``inputs(g, case)`` draws everything
from ``g``. Shapes use distinct sizes so a transposed result cannot pass, case 0 has a batch
of one, and ReLU and max-pool inputs stay away from their kinks and ties.
Runs inside the sandbox: it imports nothing but torch.
"""
from __future__ import annotations

from typing import Callable

import torch

Maker = Callable[[torch.Generator, int], dict]


def randn(g: torch.Generator, *shape: int, scale: float = 1.0, dtype=torch.float64) -> torch.Tensor:
    return torch.randn(*shape, generator=g, dtype=dtype) * scale


def uniform(g: torch.Generator, *shape: int, low: float = -1.0, high: float = 1.0,
            dtype=torch.float64) -> torch.Tensor:
    return torch.rand(*shape, generator=g, dtype=dtype) * (high - low) + low


def away_from(g: torch.Generator, *shape: int, kink: float = 0.0, margin: float = 1e-2,
              scale: float = 1.0, dtype=torch.float64) -> torch.Tensor:
    """Normal values with none closer than ``margin`` to ``kink`` (ReLU's 0, a step's threshold)."""
    x = torch.randn(*shape, generator=g, dtype=dtype) * scale
    sign = torch.where(x >= 0, 1.0, -1.0).to(dtype)
    return kink + sign * (x.abs() + margin)


def randint(g: torch.Generator, low: int, high: int) -> int:
    """An int in [low, high]."""
    return int(torch.randint(low, high + 1, (1,), generator=g).item())


def batch_size(g: torch.Generator, case: int, high: int = 6) -> int:
    """Case 0 uses a batch of one, the rest 2..high: a batch of one catches many axis errors' absence."""
    return 1 if case == 0 else randint(g, 2, high)


def distinct_dims(g: torch.Generator, n: int, low: int = 2, high: int = 7) -> list[int]:
    """n different sizes, so a transposed result cannot have the right shape by accident."""
    dims: list[int] = []
    while len(dims) < n:
        d = randint(g, low, high + n)
        if d not in dims:
            dims.append(d)
    return dims


def affine_inputs(g: torch.Generator, case: int) -> dict:
    """x (N, D), w (D, M), b (M,) for a fully connected layer, D != M so a transposed w cannot pass."""
    n = batch_size(g, case)
    d, m = distinct_dims(g, 2)
    return {"x": randn(g, n, d), "w": randn(g, d, m), "b": randn(g, m)}


def affine_backward_inputs(g: torch.Generator, case: int) -> dict:
    kw = affine_inputs(g, case)
    kw["dout"] = randn(g, kw["x"].shape[0], kw["w"].shape[1])
    return kw
