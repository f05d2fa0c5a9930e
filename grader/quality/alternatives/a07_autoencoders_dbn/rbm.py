"""Another correct way to write a07's CD-1: the statistics as einsums and the sample by a sign test."""
import torch


def rbm_cd1(v, W, b, c, noise, lr):
    n = v.shape[0]
    p0 = torch.sigmoid(torch.addmm(c, v, W))
    h0 = torch.where(p0 - noise > 0, torch.ones_like(p0), torch.zeros_like(p0))
    v1 = torch.sigmoid(torch.addmm(b, h0, W.T))
    p1 = torch.sigmoid(torch.addmm(c, v1, W))
    positive, negative = torch.einsum("ni,nj->ij", v, p0), torch.einsum("ni,nj->ij", v1, p1)
    return W + (positive - negative) * (lr / n), b + lr * (v.sum(0) - v1.sum(0)) / n, \
        c + lr * (p0.sum(0) - p1.sum(0)) / n, torch.sum((v1 - v) * (v1 - v)) / n
