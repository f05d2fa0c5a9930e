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
    # YOUR CODE HERE
    raise NotImplementedError("a13.readout_forward")
    return out, cache


def readout_backward(dout: Tensor, cache: tuple) -> Tensor:
    """Backward pass of readout_forward. dout: (G, F). Returns dx (N, F): for "max", each graph's
    gradient goes to the node holding the maximum of that feature."""
    # YOUR CODE HERE
    raise NotImplementedError("a13.readout_backward")
    return dx
