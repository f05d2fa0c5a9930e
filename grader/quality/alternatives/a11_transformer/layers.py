"""Alternative a11 layers, correct but written differently from the reference: the positional encoding column
by column with exp/log frequencies, layer norm with torch.var_mean and a backward through each position's
explicit Jacobian, and the feed-forward block with clamp and einsum."""
import math

import torch


def positional_encoding(length, d_model, base=10000.0):
    pe = torch.empty(length, d_model, dtype=torch.float64)
    pos = torch.arange(length, dtype=torch.float64)
    for j in range(d_model):
        freq = math.exp(-math.log(base) * (j - j % 2) / d_model)
        pe[:, j] = torch.sin(pos * freq) if j % 2 == 0 else torch.cos(pos * freq)
    return pe


def layer_norm_forward(x, gamma, beta, eps=1e-5):
    var, mean = torch.var_mean(x, dim=-1, unbiased=False, keepdim=True)
    return (x - mean) * torch.rsqrt(var + eps) * gamma + beta, (x, gamma, eps)


def layer_norm_backward(dout, cache):
    x, gamma, eps = cache
    d = x.shape[-1]
    rows, drows = x.reshape(-1, d), dout.reshape(-1, d)
    var, mean = torch.var_mean(rows, dim=-1, unbiased=False, keepdim=True)
    ivar = torch.rsqrt(var + eps)
    xhat = (rows - mean) * ivar
    eye = torch.eye(d, dtype=x.dtype, device=x.device)
    dx = torch.empty_like(rows)
    for i in range(rows.shape[0]):  # d xhat_a / d x_b = ivar (delta_ab - 1/D - xhat_a xhat_b / D)
        jac = ivar[i] * (eye - 1.0 / d - torch.outer(xhat[i], xhat[i]) / d)
        dx[i] = jac @ (drows[i] * gamma)
    return dx.reshape(x.shape), (drows * xhat).sum(0), drows.sum(0)


def feed_forward_forward(x, w1, b1, w2, b2):
    hidden = torch.clamp(torch.einsum("...e,fe->...f", x, w1) + b1, min=0.0)
    return torch.einsum("...f,ef->...e", hidden, w2) + b2, (x, w1, w2, hidden)


def feed_forward_backward(dout, cache):
    x, w1, w2, hidden = cache
    dhidden = torch.einsum("...e,ef->...f", dout, w2) * (hidden > 0)
    return (torch.einsum("...f,fe->...e", dhidden, w1), torch.einsum("...f,...e->fe", dhidden, x),
            dhidden.reshape(-1, w1.shape[0]).sum(0), torch.einsum("...e,...f->ef", dout, hidden),
            dout.reshape(-1, w2.shape[0]).sum(0))
