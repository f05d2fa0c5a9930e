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
    # YOUR CODE HERE
    raise NotImplementedError("a05.batchnorm_forward")
    cache = (xhat, xmu, ivar, sqrtvar, var, gamma, eps)
    return out, cache


def batchnorm_backward(dout: Tensor, cache: tuple) -> tuple[Tensor, Tensor, Tensor]:
    """Backward pass of batchnorm_forward, step by step through its computational graph.

    Walk the forward's graph in reverse (out <- xhat <- ivar <- sqrtvar <- var <- sq <- xmu <- mu <- x),
    one local derivative per node, adding the gradients of the branches that meet at xmu and at x.
    dout: (N, D). Returns (dx, dgamma, dbeta) of shapes (N, D), (D,), (D,).
    """
    xhat, xmu, ivar, sqrtvar, var, gamma, eps = cache
    # YOUR CODE HERE
    raise NotImplementedError("a05.batchnorm_backward")
    return dx, dgamma, dbeta


def batchnorm_backward_alt(dout: Tensor, cache: tuple) -> tuple[Tensor, Tensor, Tensor]:
    """Backward pass of batchnorm_forward in closed form, on one line for dx:

    dx = (1 / N) * ivar * (N * dxhat - sum(dxhat) - xhat * sum(dxhat * xhat)),  dxhat = dout * gamma,
    sums over the batch. dout: (N, D). Returns (dx, dgamma, dbeta): (N, D), (D,), (D,).
    """
    xhat, xmu, ivar, sqrtvar, var, gamma, eps = cache
    # YOUR CODE HERE
    raise NotImplementedError("a05.batchnorm_backward_alt")
    return dx, dgamma, dbeta


def batchnorm_running_stats(x: Tensor, running_mean: Tensor, running_var: Tensor,
                            momentum: float = 0.1) -> tuple[Tensor, Tensor]:
    """The running statistics after one training batch, as torch keeps them.

    new = (1 - momentum) * old + momentum * batch statistic, where the batch variance is the
    unbiased one (divided by N - 1), although the forward normalises with the biased one.
    x: (N, D), N >= 2; running_mean, running_var: (D,). Returns (running_mean, running_var),
    new tensors of shape (D,).
    """
    # YOUR CODE HERE
    raise NotImplementedError("a05.batchnorm_running_stats")
    return running_mean, running_var


def batchnorm_inference(x: Tensor, gamma: Tensor, beta: Tensor, running_mean: Tensor,
                        running_var: Tensor, eps: float = 1e-5) -> Tensor:
    """Inference-mode batch normalization: normalise with the running statistics, not the batch's.

    x: (N, D), any N >= 1; gamma, beta, running_mean, running_var: (D,). Returns out: (N, D).
    """
    # YOUR CODE HERE
    raise NotImplementedError("a05.batchnorm_inference")
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
    # YOUR CODE HERE
    raise NotImplementedError("a05.spatial_batchnorm_forward")
    cache = (bn_cache, x.shape)
    return out, cache


def spatial_batchnorm_backward(dout: Tensor, cache: tuple) -> tuple[Tensor, Tensor, Tensor]:
    """Backward pass of spatial_batchnorm_forward: batchnorm_backward_alt on the (N * H * W, C) view.

    dout: (N, C, H, W). Returns (dx, dgamma, dbeta) of shapes (N, C, H, W), (C,), (C,).
    """
    bn_cache, shape = cache
    # YOUR CODE HERE
    raise NotImplementedError("a05.spatial_batchnorm_backward")
    return dx, dgamma, dbeta


def spatial_batchnorm_running_stats(x: Tensor, running_mean: Tensor, running_var: Tensor,
                                    momentum: float = 0.1) -> tuple[Tensor, Tensor]:
    """Running statistics of the spatial layer after one batch: per channel, over N * H * W values.

    x: (N, C, H, W); running_mean, running_var: (C,). Returns (running_mean, running_var): (C,).
    """
    # YOUR CODE HERE
    raise NotImplementedError("a05.spatial_batchnorm_running_stats")
    return running_mean, running_var


def spatial_batchnorm_inference(x: Tensor, gamma: Tensor, beta: Tensor, running_mean: Tensor,
                                running_var: Tensor, eps: float = 1e-5) -> Tensor:
    """Inference-mode spatial batch normalization. x: (N, C, H, W); the rest (C,). Returns out: (N, C, H, W)."""
    # YOUR CODE HERE
    raise NotImplementedError("a05.spatial_batchnorm_inference")
    return out
