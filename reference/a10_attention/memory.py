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
    ### BEGIN SOLUTION
    ps, steps = [], []
    for _ in range(hops):
        p, sm_cache = masked_softmax_forward((mi @ u[:, :, None])[:, :, 0], mask)  # (N, M)
        o = (p[:, :, None] * ci).sum(dim=1)  # (N, d)
        steps.append((u, p, sm_cache))
        ps.append(p)
        u = u + o  # (N, d)
    p = torch.stack(ps, dim=1)  # (N, hops, M)
    ### END SOLUTION
    cache = (mi, ci, steps)
    return u, p, cache


def memory_network_backward(du: Tensor, cache: tuple) -> tuple[Tensor, Tensor, Tensor]:
    """Backward of memory_network_forward. du: (N, d). Returns (du, dmi, dci): the gradients of the first
    query u (N, d), of mi and of ci (N, M, d)."""
    mi, ci, steps = cache
    ### BEGIN SOLUTION
    dmi = torch.zeros_like(mi)
    dci = torch.zeros_like(ci)
    for u, p, sm_cache in reversed(steps):
        do = du  # u_next = u + o
        dci = dci + p[:, :, None] * do[:, None, :]  # (N, M, d)
        dp = (ci * do[:, None, :]).sum(dim=2)  # (N, M)
        dscores = masked_softmax_backward(dp, sm_cache)  # (N, M)
        dmi = dmi + dscores[:, :, None] * u[:, None, :]  # (N, M, d)
        du = du + (dscores[:, :, None] * mi).sum(dim=1)  # (N, d)
    ### END SOLUTION
    return du, dmi, dci
