"""Graph-level readout: one vector per graph from its nodes' features, for a batch of graphs.

A batch of G graphs is one big graph with no edges between them; ``batch`` (N,) says which
graph each node belongs to (0 .. G-1). The readout pools each graph's node features by their
sum, mean or maximum (per feature), a permutation-invariant summary fed to a classifier.
"""
from __future__ import annotations

import torch

Tensor = torch.Tensor
MODES = ("sum", "mean", "max")


def readout_forward(x: Tensor, batch: Tensor, num_graphs: int, mode: str = "mean") -> tuple[Tensor, tuple]:
    """Pool each graph's nodes.

    x: (N, F); batch: (N,) int64 in 0 .. num_graphs - 1, every graph with at least one node;
    mode: "sum", "mean" or "max" (per feature; ties do not occur). Returns (out, cache), out: (G, F).
    """
    if mode not in MODES:
        raise ValueError(f"mode must be one of {MODES}, not {mode!r}")
    ### BEGIN SOLUTION
    f = x.shape[1]
    index = batch[:, None].expand(-1, f)  # (N, F)
    if mode == "max":
        out = torch.full((num_graphs, f), float("-inf"), dtype=x.dtype, device=x.device)
        out = out.scatter_reduce(0, index, x, reduce="amax")  # (G, F)
    else:
        out = torch.zeros(num_graphs, f, dtype=x.dtype, device=x.device).index_add(0, batch, x)  # (G, F)
        if mode == "mean":
            count = torch.bincount(batch, minlength=num_graphs).to(x.dtype)  # (G,)
            out = out / count[:, None]
    cache = (x, batch, out, mode)
    ### END SOLUTION
    return out, cache


def readout_backward(dout: Tensor, cache: tuple) -> Tensor:
    """Backward pass of readout_forward. dout: (G, F). Returns dx (N, F): for "max", each graph's
    gradient goes to the node holding the maximum of that feature."""
    ### BEGIN SOLUTION
    x, batch, out, mode = cache
    dx = dout[batch]  # (N, F) every node of graph g receives graph g's gradient
    if mode == "mean":
        count = torch.bincount(batch, minlength=dout.shape[0]).to(dout.dtype)  # (G,)
        dx = dx / count[batch][:, None]
    elif mode == "max":
        dx = dx * (x == out[batch])  # only the winner of each (graph, feature)
    ### END SOLUTION
    return dx
