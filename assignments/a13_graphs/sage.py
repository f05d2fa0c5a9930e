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
    # YOUR CODE HERE
    raise NotImplementedError("a13.sage_mean_forward")
    return out, cache


def sage_mean_backward(dout: Tensor, cache: tuple) -> tuple[Tensor, Tensor, Tensor, Tensor]:
    """Backward pass of sage_mean_forward.

    dout: (N, F'). Returns (dx, dw_self, dw_neigh, db) of shapes (N, F), (F, F'), (F, F'), (F',).
    """
    # YOUR CODE HERE
    raise NotImplementedError("a13.sage_mean_backward")
    return dx, dw_self, dw_neigh, db
