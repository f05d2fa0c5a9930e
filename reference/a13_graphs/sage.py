"""GraphSAGE with mean aggregation (Hamilton, Ying and Leskovec, 2017), over an edge list.

Node i's new features combine its own and the mean of its neighbours':
out_i = x_i W_self + (1 / |N(i)|) sum_{j in N(i)} x_j W_neigh + b. A node without neighbours
aggregates zeros. The graph is an edge list, as in ``torch.sparse``'s COO indices: column e of
``edge_index`` (2, E) is the pair (i, j), node i receiving from its neighbour j. Written with
``index_add`` (a scatter-sum), it costs O(E F), like the sparse GCN layer.
"""
from __future__ import annotations

import torch

Tensor = torch.Tensor


def sage_mean_forward(x: Tensor, edge_index: Tensor, w_self: Tensor, w_neigh: Tensor,
                      b: Tensor) -> tuple[Tensor, tuple]:
    """One GraphSAGE-mean layer (no normalisation, no nonlinearity after it).

    x: (N, F); edge_index: (2, E) int64, rows (i, j): j is a neighbour of i, no pair twice;
    w_self, w_neigh: (F, F'); b: (F',). Returns (out, cache), out: (N, F').
    """
    ### BEGIN SOLUTION
    n = x.shape[0]
    row, col = edge_index  # (E,), (E,)
    deg = torch.zeros(n, dtype=x.dtype, device=x.device).index_add(0, row, torch.ones_like(row, dtype=x.dtype))
    total = torch.zeros_like(x).index_add(0, row, x[col])  # (N, F) sum over each neighbourhood
    mean = total / deg.clamp(min=1.0)[:, None]  # (N, F); an isolated node keeps zeros
    out = x @ w_self + mean @ w_neigh + b  # (N, F')
    cache = (x, edge_index, w_self, w_neigh, deg, mean)
    ### END SOLUTION
    return out, cache


def sage_mean_backward(dout: Tensor, cache: tuple) -> tuple[Tensor, Tensor, Tensor, Tensor]:
    """Backward pass of sage_mean_forward.

    dout: (N, F'). Returns (dx, dw_self, dw_neigh, db) of shapes (N, F), (F, F'), (F, F'), (F',).
    """
    ### BEGIN SOLUTION
    x, edge_index, w_self, w_neigh, deg, mean = cache
    row, col = edge_index
    dmean = dout @ w_neigh.T  # (N, F)
    dtotal = dmean / deg.clamp(min=1.0)[:, None]  # (N, F)
    dx = dout @ w_self.T + torch.zeros_like(x).index_add(0, col, dtotal[row])  # (N, F): each neighbour's share
    dw_self = x.T @ dout  # (F, F')
    dw_neigh = mean.T @ dout  # (F, F')
    db = dout.sum(dim=0)  # (F',)
    ### END SOLUTION
    return dx, dw_self, dw_neigh, db
