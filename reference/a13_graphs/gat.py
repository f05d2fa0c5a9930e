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
    ### BEGIN SOLUTION
    n = x.shape[0]
    z = torch.einsum("nf,hfk->hnk", x, w)  # (H, N, K)
    s_dst = (z * a_dst[:, None, :]).sum(dim=-1)  # (H, N): the node's own half of the score
    s_src = (z * a_src[:, None, :]).sum(dim=-1)  # (H, N): the neighbour's half
    pre = s_dst[:, :, None] + s_src[:, None, :]  # (H, N, N): row i, column j
    e = torch.where(pre > 0, pre, slope * pre)  # (H, N, N) LeakyReLU
    eye = torch.eye(n, dtype=torch.bool, device=x.device)
    mask = (adj != 0) | eye  # (N, N) the neighbourhood, self included
    e = e.masked_fill(~mask, float("-inf"))  # non-neighbours get no weight
    e = e - e.amax(dim=-1, keepdim=True)  # stabilise exp: each row's max is finite (self is there)
    p = e.exp()  # (H, N, N)
    alpha = p / p.sum(dim=-1, keepdim=True)  # (H, N, N) rows sum to 1
    h = alpha @ z  # (H, N, K)
    out = h.permute(1, 0, 2).reshape(n, -1) if concat else h.mean(dim=0)  # (N, H*K) or (N, K)
    cache = (x, w, a_src, a_dst, z, pre, alpha, concat, slope)
    ### END SOLUTION
    return out, cache


def gat_backward(dout: Tensor, cache: tuple) -> tuple[Tensor, Tensor, Tensor, Tensor]:
    """Backward pass of gat_forward.

    dout: (N, H * K) or (N, K), like the forward's output.
    Returns (dx, dw, da_src, da_dst) of shapes (N, F), (H, F, K), (H, K), (H, K).
    """
    ### BEGIN SOLUTION
    x, w, a_src, a_dst, z, pre, alpha, concat, slope = cache
    heads, n, k = z.shape
    if concat:
        dh = dout.reshape(n, heads, k).permute(1, 0, 2)  # (H, N, K)
    else:
        dh = (dout / heads).expand(heads, n, k)  # (H, N, K): the mean shares dout among heads
    dalpha = dh @ z.transpose(-1, -2)  # (H, N, N)
    dz = alpha.transpose(-1, -2) @ dh  # (H, N, K): through the weighted sum
    de = alpha * (dalpha - (dalpha * alpha).sum(dim=-1, keepdim=True))  # (H, N, N) softmax; 0 off the graph
    dpre = torch.where(pre > 0, de, slope * de)  # (H, N, N) LeakyReLU
    ds_dst = dpre.sum(dim=-1)  # (H, N)
    ds_src = dpre.sum(dim=-2)  # (H, N)
    dz = dz + ds_dst[:, :, None] * a_dst[:, None, :] + ds_src[:, :, None] * a_src[:, None, :]  # (H, N, K)
    da_dst = (ds_dst[:, :, None] * z).sum(dim=1)  # (H, K)
    da_src = (ds_src[:, :, None] * z).sum(dim=1)  # (H, K)
    dw = torch.einsum("nf,hnk->hfk", x, dz)  # (H, F, K)
    dx = torch.einsum("hnk,hfk->nf", dz, w)  # (N, F)
    ### END SOLUTION
    return dx, dw, da_src, da_dst
