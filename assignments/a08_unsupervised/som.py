"""Kohonen's self-organizing map: competitive learning whose winner drags its map neighbours along.

K units sit at fixed positions on a map (``grid``, (K, G): G = 1 for a chain, 2 for a sheet)
and hold prototypes w (K, D). Each input pulls every unit j towards it by lr(t) h_cj(t), where
c is the best-matching unit and h a Gaussian of the map distance whose width sigma(t) shrinks.
As sigma -> 0 only the winner learns: plain competitive learning. Every function returns new
tensors and leaves its inputs unchanged.
"""
from __future__ import annotations

import torch

from .competitive import winner

Tensor = torch.Tensor


def grid_positions(rows: int, cols: int, dtype=torch.float64, device=None) -> Tensor:
    """Map coordinates of a rows x cols sheet, unit k = (k // cols, k % cols). Returns (rows*cols, 2)."""
    r = torch.arange(rows, dtype=dtype, device=device).repeat_interleave(cols)  # (K,)
    q = torch.arange(cols, dtype=dtype, device=device).repeat(rows)  # (K,)
    return torch.stack([r, q], dim=1)


def decay(start: float, end: float, t: int, steps: int) -> float:
    """Exponential schedule from ``start`` at t = 0 to ``end`` at t = steps - 1."""
    return start * (end / start) ** (t / max(steps - 1, 1))


def gaussian_neighbourhood(grid: Tensor, c: Tensor, sigma: float) -> Tensor:
    """h_cj = exp(-||r_c - r_j||^2 / (2 sigma^2)), r being the units' map positions.

    grid: (K, G) map positions; c: (N,) int64 winners; sigma > 0. Returns h: (N, K).
    """
    # YOUR CODE HERE
    raise NotImplementedError("a08.gaussian_neighbourhood")
    return h


def som_update(x: Tensor, w: Tensor, grid: Tensor, lr: float, sigma: float) -> Tensor:
    """One SOM step for one input: w_j <- w_j + lr h_cj (x - w_j) for every unit j, with c the
    best-matching unit of x.

    x: (D,); w: (K, D); grid: (K, G). Returns the new prototypes, (K, D).
    """
    # YOUR CODE HERE
    raise NotImplementedError("a08.som_update")
    return w


def som_train(x: Tensor, w: Tensor, grid: Tensor, order: Tensor, lr: tuple[float, float],
              sigma: tuple[float, float]) -> Tensor:
    """Train online: step t presents x[order[t]] with lr(t) = decay(*lr, t, T) and
    sigma(t) = decay(*sigma, t, T), where T = len(order).

    x: (N, D); w: (K, D) initial prototypes; grid: (K, G); order: (T,) int64 indices into x;
    lr, sigma: (start, end) pairs. Returns the trained prototypes, (K, D).
    """
    # YOUR CODE HERE
    raise NotImplementedError("a08.som_train")
    return w


def quantization_error(x: Tensor, w: Tensor) -> Tensor:
    """Mean distance from each input to its best-matching unit's prototype.

    x: (N, D); w: (K, D). Returns a 0-d tensor.
    """
    # YOUR CODE HERE
    raise NotImplementedError("a08.quantization_error")
    return qe


def topographic_error(x: Tensor, w: Tensor, grid: Tensor) -> Tensor:
    """Fraction of inputs whose best and second-best units are not neighbours on the map.

    Neighbours are units at map distance < 1.5: the two beside a unit of a chain, the eight
    around a unit of a sheet (diagonals included). x: (N, D); w: (K, D) with K >= 2;
    grid: (K, G). Returns a 0-d tensor of x's dtype.
    """
    # YOUR CODE HERE
    raise NotImplementedError("a08.topographic_error")
    return te


def u_matrix(w: Tensor, rows: int, cols: int) -> Tensor:
    """Unified distance matrix: each unit's mean prototype distance to its 4 map neighbours.

    w: (rows*cols, D), units in grid_positions' order. Returns (rows, cols).
    """
    m = w.reshape(rows, cols, -1)
    total = torch.zeros(rows, cols, dtype=w.dtype, device=w.device)
    count = torch.zeros(rows, cols, dtype=w.dtype, device=w.device)
    d_down = (m[1:] - m[:-1]).norm(dim=2)  # (rows-1, cols)
    d_right = (m[:, 1:] - m[:, :-1]).norm(dim=2)  # (rows, cols-1)
    total[1:] += d_down
    total[:-1] += d_down
    count[1:] += 1
    count[:-1] += 1
    total[:, 1:] += d_right
    total[:, :-1] += d_right
    count[:, 1:] += 1
    count[:, :-1] += 1
    return total / count
