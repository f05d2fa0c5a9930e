"""Inhibitory feedback networks: MAXNET's lateral inhibition, the Hamming net, Grossberg's shunting network.

MAXNET (Lippmann, 1987): M units, each inhibiting all others by eps, repeat until one survives.
The Hamming net: a feed-forward layer scores each stored prototype by agreement with a bipolar
input, and a MAXNET picks the best. The shunting on-centre off-surround network (Grossberg)
normalises its input: activities settle at x_i = B I_i / (A + sum_k I_k). Shapes: N patterns,
M units, n bits. Every function returns new tensors and leaves its inputs unchanged.
"""
from __future__ import annotations

import torch

Tensor = torch.Tensor


def maxnet_step(y: Tensor, eps: float) -> Tensor:
    """One step of lateral inhibition: y_j <- relu(y_j - eps * sum_{k != j} y_k).

    y: (N, M) non-negative activations (one row per network); 0 < eps < 1/M. Returns (N, M).
    """
    # YOUR CODE HERE
    raise NotImplementedError("a08.maxnet_step")
    return y


def maxnet(y: Tensor, eps: float, max_steps: int = 10_000) -> tuple[Tensor, Tensor]:
    """Iterate maxnet_step until every row has at most one positive unit (or max_steps).

    A row that has converged no longer changes, so all rows can be stepped together.
    y: (N, M). Returns (y, steps): the final activations (N, M) and, for each row, the
    number of steps it took to converge, (N,) int64.
    """
    # YOUR CODE HERE
    raise NotImplementedError("a08.maxnet")
    return y, steps


def hamming_net(x: Tensor, prototypes: Tensor, eps: float) -> tuple[Tensor, Tensor]:
    """Classify bipolar patterns by the stored prototype nearest in Hamming distance.

    The lower layer scores s_nj = (n + x_n . p_j) / 2 = n - hamming(x_n, p_j), the number of
    agreeing bits; a MAXNET with inhibition eps then leaves the best one.
    x: (N, n) in {-1, +1}; prototypes: (M, n) in {-1, +1}. Returns (scores, c): scores (N, M)
    and c (N,) int64, the index of the unit that survives.
    """
    # YOUR CODE HERE
    raise NotImplementedError("a08.hamming_net")
    return scores, c


def shunting_step(x: Tensor, inputs: Tensor, A: float, B: float, dt: float) -> Tensor:
    """One Euler step of the shunting on-centre off-surround network:

        dx_i/dt = -A x_i + (B - x_i) I_i - x_i sum_{k != i} I_k

    (passive decay, excitation by the unit's own input that shuts off at B, inhibition by
    the others' inputs that shuts off at 0). x, inputs: (N, M), inputs >= 0. Returns (N, M).
    """
    # YOUR CODE HERE
    raise NotImplementedError("a08.shunting_step")
    return x


def shunting_equilibrium(inputs: Tensor, A: float, B: float) -> Tensor:
    """The steady state of the shunting network: x_i = B I_i / (A + sum_k I_k).

    inputs: (N, M), >= 0. Returns (N, M).
    """
    # YOUR CODE HERE
    raise NotImplementedError("a08.shunting_equilibrium")
    return x
