"""Alternative a13 GAT, correct but written differently from the reference: one head at a time, the paper's
concatenated attention vector a^T [z_i || z_j], torch.softmax over a mask of -inf, F.leaky_relu, and a
backward through each node's softmax Jacobian in a loop. The grader must give them full marks."""
import torch
import torch.nn.functional as F


def gat_forward(x, adj, w, a_src, a_dst, concat=True, slope=0.2):
    n = x.shape[0]
    allowed = (adj != 0) | torch.eye(n, dtype=torch.bool, device=x.device)
    heads, zs, alphas, pres = [], [], [], []
    for h in range(w.shape[0]):
        z = x @ w[h]
        a = torch.cat([a_dst[h], a_src[h]])
        pair = torch.cat([z[:, None, :].expand(n, n, -1), z[None, :, :].expand(n, n, -1)], dim=-1)  # (N, N, 2K)
        pre = pair @ a
        e = F.leaky_relu(pre, slope).masked_fill(~allowed, float("-inf"))
        alpha = torch.softmax(e, dim=1)
        heads.append(alpha @ z)
        zs.append(z)
        alphas.append(alpha)
        pres.append(pre)
    out = torch.cat(heads, dim=1) if concat else torch.stack(heads).mean(0)
    return out, (x, w, a_src, a_dst, zs, alphas, pres, concat, slope)


def gat_backward(dout, cache):
    x, w, a_src, a_dst, zs, alphas, pres, concat, slope = cache
    heads, k = w.shape[0], w.shape[2]
    dx, dw, da_src, da_dst = torch.zeros_like(x), torch.zeros_like(w), torch.zeros_like(a_src), torch.zeros_like(a_dst)
    for h in range(heads):
        z, alpha, pre = zs[h], alphas[h], pres[h]
        dh = dout[:, h * k:(h + 1) * k] if concat else dout / heads
        dalpha = dh @ z.T
        dz = alpha.T @ dh
        de = torch.zeros_like(alpha)
        for i in range(alpha.shape[0]):
            p = alpha[i]
            de[i] = (torch.diag(p) - torch.outer(p, p)) @ dalpha[i]
        dpre = de * torch.where(pre > 0, torch.ones_like(pre), torch.full_like(pre, slope))
        dz = dz + dpre.sum(1)[:, None] * a_dst[h] + dpre.sum(0)[:, None] * a_src[h]
        da_dst[h] = dpre.sum(1) @ z
        da_src[h] = dpre.sum(0) @ z
        dw[h] = x.T @ dz
        dx = dx + dz @ w[h].T
    return dx, dw, da_src, da_dst
