"""End-to-end memory networks (Sukhbaatar et al., 2015): soft attention over a memory, read in several hops.

The memories are given already embedded: m_i (input memory, matched against the query) and c_i
(output memory, what is read). The same memories serve every hop (layer-wise tying with H = I).
"""
from __future__ import annotations

import torch

from .softmax import masked_softmax_backward, masked_softmax_forward

Tensor = torch.Tensor


def memory_network_forward(u: Tensor, mi: Tensor, ci: Tensor, hops: int,
                           mask: Tensor | None = None) -> tuple[Tensor, Tensor, tuple]:
    """``hops`` hops of p = softmax_i(u . m_i), o = sum_i p_i c_i, u <- u + o.

    u: (N, d) the query's embedding; mi, ci: (N, M, d) the memories m_i and c_i; mask: (N, M) boolean
    (False: an empty slot) or None.
    Use masked_softmax_forward. Returns (u, p, cache): the final u (N, d), each hop's weights (N, hops, M).
    """
    # YOUR CODE HERE
    raise NotImplementedError("a10.memory_network_forward")
    cache = (mi, ci, steps)
    return u, p, cache


def memory_network_backward(du: Tensor, cache: tuple) -> tuple[Tensor, Tensor, Tensor]:
    """Backward of memory_network_forward. du: (N, d). Returns (du, dmi, dci): the gradients of the first
    query u (N, d), of mi and of ci (N, M, d)."""
    mi, ci, steps = cache
    # YOUR CODE HERE
    raise NotImplementedError("a10.memory_network_backward")
    return du, dmi, dci
