"""Competitive learning (Rumelhart and Zipser, 1985): K prototype units compete, only the winner learns.

The prototypes are the rows of ``w`` (K, D); an input x (D,) is won by the unit whose prototype
is nearest. Shapes: N inputs, D features, K units. Every update returns new tensors and leaves
its inputs unchanged.
"""
from __future__ import annotations

import torch

Tensor = torch.Tensor


def winner(x: Tensor, w: Tensor) -> Tensor:
    """The winning unit for each input: c_n = argmin_j ||x_n - w_j||.

    x: (N, D) inputs; w: (K, D) prototypes. Returns c: (N,) int64.
    """
    # YOUR CODE HERE
    raise NotImplementedError("a08.winner")
    return c


def competitive_update(x: Tensor, w: Tensor, lr: float) -> Tensor:
    """One winner-take-all step for one input: w_c <- w_c + lr (x - w_c); the losers stay.

    x: (D,) one input; w: (K, D). Returns the new prototypes, (K, D).
    """
    # YOUR CODE HERE
    raise NotImplementedError("a08.competitive_update")
    return w


def competitive_epoch(x: Tensor, w: Tensor, counts: Tensor, lr: float | None = None) -> tuple[Tensor, Tensor]:
    """Present the inputs once, in order; each one moves its winner.

    With ``lr=None`` the winner's step is 1 / counts_c, counted after this win: every prototype
    is then the running mean of the points it has won (MacQueen's online k-means). With a
    float ``lr`` every step uses it and ``counts`` still counts the wins.

    x: (N, D); w: (K, D); counts: (K,) int64 wins so far. Returns (w, counts), new tensors.
    """
    # YOUR CODE HERE
    raise NotImplementedError("a08.competitive_epoch")
    return w, counts


def leaky_competitive_update(x: Tensor, w: Tensor, lr_win: float, lr_lose: float) -> Tensor:
    """Leaky learning (Rumelhart and Zipser): the winner moves by lr_win, every loser by the
    smaller lr_lose, so a unit that never wins still drifts towards the data and is revived.

    x: (D,) one input; w: (K, D). Returns the new prototypes, (K, D).
    """
    # YOUR CODE HERE
    raise NotImplementedError("a08.leaky_competitive_update")
    return w


def distortion(x: Tensor, w: Tensor) -> Tensor:
    """Sum of squared distances from each input to its nearest prototype (k-means' inertia).

    x: (N, D); w: (K, D). Returns a 0-d tensor.
    """
    d2 = ((x[:, None, :] - w[None, :, :]) ** 2).sum(dim=2)  # (N, K)
    return d2.min(dim=1).values.sum()
