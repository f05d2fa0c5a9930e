"""Graph attention (Velickovic et al., 2018): one GAT layer with several heads, forward and backward.

Head h transforms every node, z_i = x_i W_h, scores each neighbour j of node i (i itself included)
with e_ij = LeakyReLU(a_dst . z_i + a_src . z_j, slope 0.2), which is the paper's a^T [z_i || z_j],
normalises the scores over the neighbourhood with a softmax, alpha_ij = exp(e_ij) / sum_k exp(e_ik),
and sums the neighbours' features, h_i = sum_j alpha_ij z_j. The heads' results are concatenated
(hidden layers) or averaged (the output layer). Shapes: N nodes, F input features, H heads, F' = K
features per head.
"""
from __future__ import annotations

import torch

Tensor = torch.Tensor


def gat_forward(x: Tensor, adj: Tensor, w: Tensor, a_src: Tensor, a_dst: Tensor,
                concat: bool = True, slope: float = 0.2) -> tuple[Tensor, tuple]:
    """One multi-head GAT layer (no bias, no nonlinearity after it).

    x: (N, F); adj: (N, N), adj[i, j] != 0 when j is a neighbour of i (the diagonal is ignored: every
    node attends to itself); w: (H, F, K); a_src, a_dst: (H, K), the halves of the attention vector
    applied to the neighbour j and to the node i; slope: LeakyReLU's negative slope.
    The softmax runs over each neighbourhood only, and must not overflow with large scores.
    Returns (out, cache), out: (N, H * K) with head h in columns h*K .. (h+1)*K - 1 when ``concat``,
    else (N, K), the mean over heads.
    """
    # YOUR CODE HERE
    raise NotImplementedError("a13.gat_forward")
    return out, cache


def gat_backward(dout: Tensor, cache: tuple) -> tuple[Tensor, Tensor, Tensor, Tensor]:
    """Backward pass of gat_forward.

    dout: (N, H * K) or (N, K), like the forward's output.
    Returns (dx, dw, da_src, da_dst) of shapes (N, F), (H, F, K), (H, K), (H, K).
    """
    # YOUR CODE HERE
    raise NotImplementedError("a13.gat_backward")
    return dx, dw, da_src, da_dst
