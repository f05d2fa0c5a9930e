"""A network's weights as a genome: one flat vector, layer by layer, W row-major then b.

Parameters are a list of (W, b) pairs as in a02: W_l is (D_{l-1}, D_l), b_l is (D_l,); ``sizes``
is [D0, D1, ..., DL]. A population is a (P, L) tensor, one genome per row. The graded
functions leave their inputs unchanged.
"""
from __future__ import annotations

import torch

Tensor = torch.Tensor
Params = list[tuple[Tensor, Tensor]]


def genome_length(sizes: list[int]) -> int:
    """L, the number of weights and biases of a network with layer sizes ``sizes``."""
    return sum(a * b + b for a, b in zip(sizes[:-1], sizes[1:]))


def encode(params: Params) -> Tensor:
    """Flatten [(W1, b1), ..., (WL, bL)] into a genome: W1 row by row, b1, W2, b2, ...

    Returns the genome (L,), of the parameters' dtype and device.
    """
    # YOUR CODE HERE
    raise NotImplementedError("a03.encode")
    return genome


def decode(genome: Tensor, sizes: list[int]) -> Params:
    """The inverse of encode, for one genome or a whole population.

    genome: (..., L) with L == genome_length(sizes). Returns [(W1, b1), ..., (WL, bL)] with
    W_l of shape (..., D_{l-1}, D_l) and b_l of shape (..., D_l): a population (P, L) gives
    one network per row. Raises ValueError when L does not match ``sizes``.
    """
    # YOUR CODE HERE
    raise NotImplementedError("a03.decode")
    return params


def forward(params: Params, x: Tensor) -> Tensor:
    """tanh hidden layers, sigmoid output. x: (N, D0); params possibly batched over (P,).

    Returns (..., N, DL): one output per network of the batch.
    """
    h = x
    for i, (w, b) in enumerate(params):
        a = h @ w + b.unsqueeze(-2)  # (..., N, D_l)
        h = torch.tanh(a) if i < len(params) - 1 else torch.sigmoid(a)
    return h
