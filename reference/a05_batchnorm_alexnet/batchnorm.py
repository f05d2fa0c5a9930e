"""Batch normalization (Ioffe and Szegedy, 2015): training and inference forward, two backwards, running statistics.

The 1-D layer normalises (N, D) inputs feature by feature; the spatial layer normalises
(N, C, H, W) inputs channel by channel, over the batch and every position. Training mode
normalises with the batch's biased variance; the running variance tracks the unbiased one,
as torch's ``nn.BatchNorm1d`` / ``nn.BatchNorm2d`` do. Every function is pure: running
statistics come back as new tensors, the inputs are left unchanged.
"""
from __future__ import annotations

import torch

Tensor = torch.Tensor


def batchnorm_forward(x: Tensor, gamma: Tensor, beta: Tensor, eps: float = 1e-5) -> tuple[Tensor, tuple]:
    """Training-mode batch normalization: out = gamma * (x - mean) / sqrt(var + eps) + beta.

    x: (N, D), N >= 2; gamma, beta: (D,). mean and var are the batch's, per feature, and var is
    the biased variance (divided by N). Returns (out, cache), out: (N, D). Compute it node by node
    (mu, xmu = x - mu, sq = xmu^2, var, sqrtvar, ivar = 1 / sqrtvar, xhat = xmu * ivar, out): the
    cache keeps those intermediate values for either backward.
    """
    ### BEGIN SOLUTION
    n = x.shape[0]
    mu = x.sum(dim=0) / n  # (D,)
    xmu = x - mu  # (N, D)
    sq = xmu * xmu  # (N, D)
    var = sq.sum(dim=0) / n  # (D,) biased
    sqrtvar = torch.sqrt(var + eps)  # (D,)
    ivar = 1.0 / sqrtvar  # (D,)
    xhat = xmu * ivar  # (N, D)
    out = gamma * xhat + beta  # (N, D)
    ### END SOLUTION
    cache = (xhat, xmu, ivar, sqrtvar, var, gamma, eps)
    return out, cache


def batchnorm_backward(dout: Tensor, cache: tuple) -> tuple[Tensor, Tensor, Tensor]:
    """Backward pass of batchnorm_forward, step by step through its computational graph.

    Walk the forward's graph in reverse (out <- xhat <- ivar <- sqrtvar <- var <- sq <- xmu <- mu <- x),
    one local derivative per node, adding the gradients of the branches that meet at xmu and at x.
    dout: (N, D). Returns (dx, dgamma, dbeta) of shapes (N, D), (D,), (D,).
    """
    xhat, xmu, ivar, sqrtvar, var, gamma, eps = cache
    ### BEGIN SOLUTION
    n = dout.shape[0]
    dbeta = dout.sum(dim=0)  # (D,)
    dgamma = (dout * xhat).sum(dim=0)  # (D,)
    dxhat = dout * gamma  # (N, D)
    divar = (dxhat * xmu).sum(dim=0)  # (D,)
    dxmu1 = dxhat * ivar  # (N, D): the branch through xhat = xmu * ivar
    dsqrtvar = -divar / (sqrtvar * sqrtvar)  # (D,)
    dvar = 0.5 * dsqrtvar / sqrtvar  # (D,)
    dsq = dvar / n * torch.ones_like(dout)  # (N, D)
    dxmu2 = 2.0 * xmu * dsq  # (N, D): the branch through sq = xmu^2
    dx1 = dxmu1 + dxmu2  # (N, D)
    dmu = -dx1.sum(dim=0)  # (D,)
    dx2 = dmu / n * torch.ones_like(dout)  # (N, D): the branch through mu
    dx = dx1 + dx2  # (N, D)
    ### END SOLUTION
    return dx, dgamma, dbeta


def batchnorm_backward_alt(dout: Tensor, cache: tuple) -> tuple[Tensor, Tensor, Tensor]:
    """Backward pass of batchnorm_forward in closed form, on one line for dx:

    dx = (1 / N) * ivar * (N * dxhat - sum(dxhat) - xhat * sum(dxhat * xhat)),  dxhat = dout * gamma,
    sums over the batch. dout: (N, D). Returns (dx, dgamma, dbeta): (N, D), (D,), (D,).
    """
    xhat, xmu, ivar, sqrtvar, var, gamma, eps = cache
    ### BEGIN SOLUTION
    n = dout.shape[0]
    dbeta = dout.sum(dim=0)  # (D,)
    dgamma = (dout * xhat).sum(dim=0)  # (D,)
    dxhat = dout * gamma  # (N, D)
    dx = ivar / n * (n * dxhat - dxhat.sum(dim=0) - xhat * (dxhat * xhat).sum(dim=0))  # (N, D)
    ### END SOLUTION
    return dx, dgamma, dbeta


def batchnorm_running_stats(x: Tensor, running_mean: Tensor, running_var: Tensor,
                            momentum: float = 0.1) -> tuple[Tensor, Tensor]:
    """The running statistics after one training batch, as torch keeps them.

    new = (1 - momentum) * old + momentum * batch statistic, where the batch variance is the
    unbiased one (divided by N - 1), although the forward normalises with the biased one.
    x: (N, D), N >= 2; running_mean, running_var: (D,). Returns (running_mean, running_var),
    new tensors of shape (D,).
    """
    ### BEGIN SOLUTION
    n = x.shape[0]
    mean = x.mean(dim=0)  # (D,)
    var = ((x - mean) ** 2).sum(dim=0) / (n - 1)  # (D,) unbiased
    running_mean = (1.0 - momentum) * running_mean + momentum * mean
    running_var = (1.0 - momentum) * running_var + momentum * var
    ### END SOLUTION
    return running_mean, running_var


def batchnorm_inference(x: Tensor, gamma: Tensor, beta: Tensor, running_mean: Tensor,
                        running_var: Tensor, eps: float = 1e-5) -> Tensor:
    """Inference-mode batch normalization: normalise with the running statistics, not the batch's.

    x: (N, D), any N >= 1; gamma, beta, running_mean, running_var: (D,). Returns out: (N, D).
    """
    ### BEGIN SOLUTION
    out = gamma * (x - running_mean) / torch.sqrt(running_var + eps) + beta  # (N, D)
    ### END SOLUTION
    return out


def _channels_last(x: Tensor) -> Tensor:
    """(N, C, H, W) -> (N * H * W, C): one row per position, one column per channel."""
    n, c, h, w = x.shape
    return x.permute(0, 2, 3, 1).reshape(n * h * w, c)


def _channels_first(rows: Tensor, shape: torch.Size) -> Tensor:
    """(N * H * W, C) -> (N, C, H, W), the inverse of _channels_last."""
    n, c, h, w = shape
    return rows.reshape(n, h, w, c).permute(0, 3, 1, 2).contiguous()


def spatial_batchnorm_forward(x: Tensor, gamma: Tensor, beta: Tensor, eps: float = 1e-5) -> tuple[Tensor, tuple]:
    """Training-mode batch normalization of feature maps: statistics per channel, over N, H and W.

    x: (N, C, H, W) with N * H * W >= 2; gamma, beta: (C,). Returns (out, cache), out: (N, C, H, W).
    Reuse batchnorm_forward on a (N * H * W, C) view (see _channels_last).
    """
    ### BEGIN SOLUTION
    rows, bn_cache = batchnorm_forward(_channels_last(x), gamma, beta, eps)  # (N*H*W, C)
    out = _channels_first(rows, x.shape)  # (N, C, H, W)
    ### END SOLUTION
    cache = (bn_cache, x.shape)
    return out, cache


def spatial_batchnorm_backward(dout: Tensor, cache: tuple) -> tuple[Tensor, Tensor, Tensor]:
    """Backward pass of spatial_batchnorm_forward: batchnorm_backward_alt on the (N * H * W, C) view.

    dout: (N, C, H, W). Returns (dx, dgamma, dbeta) of shapes (N, C, H, W), (C,), (C,).
    """
    bn_cache, shape = cache
    ### BEGIN SOLUTION
    drows, dgamma, dbeta = batchnorm_backward_alt(_channels_last(dout), bn_cache)  # (N*H*W, C)
    dx = _channels_first(drows, shape)  # (N, C, H, W)
    ### END SOLUTION
    return dx, dgamma, dbeta


def spatial_batchnorm_running_stats(x: Tensor, running_mean: Tensor, running_var: Tensor,
                                    momentum: float = 0.1) -> tuple[Tensor, Tensor]:
    """Running statistics of the spatial layer after one batch: per channel, over N * H * W values.

    x: (N, C, H, W); running_mean, running_var: (C,). Returns (running_mean, running_var): (C,).
    """
    ### BEGIN SOLUTION
    running_mean, running_var = batchnorm_running_stats(_channels_last(x), running_mean, running_var, momentum)
    ### END SOLUTION
    return running_mean, running_var


def spatial_batchnorm_inference(x: Tensor, gamma: Tensor, beta: Tensor, running_mean: Tensor,
                                running_var: Tensor, eps: float = 1e-5) -> Tensor:
    """Inference-mode spatial batch normalization. x: (N, C, H, W); the rest (C,). Returns out: (N, C, H, W)."""
    ### BEGIN SOLUTION
    rows = batchnorm_inference(_channels_last(x), gamma, beta, running_mean, running_var, eps)  # (N*H*W, C)
    out = _channels_first(rows, x.shape)  # (N, C, H, W)
    ### END SOLUTION
    return out
