"""Pooling (max and average over HH x WW windows moved by a stride) and flattening.

Shapes: N examples, C channels, H x W input, output H' x W' with H' = (H - HH) / S + 1
rounded down, as ``torch.nn.functional.max_pool2d`` / ``avg_pool2d`` without padding.
Windows may overlap (stride < window), as in AlexNet's 3x3 pooling with stride 2.
"""
from __future__ import annotations

import torch

Tensor = torch.Tensor


def _windows(h: int, wd: int, hh: int, ww: int, stride: int) -> tuple[int, int]:
    if hh > h or ww > wd or stride < 1:
        raise ValueError(f"a {hh}x{ww} window does not fit a {h}x{wd} input")
    return (h - hh) // stride + 1, (wd - ww) // stride + 1


def max_pool_forward(x: Tensor, hh: int, ww: int, stride: int) -> tuple[Tensor, tuple]:
    """The largest value of each window, channel by channel.

    x: (N, C, H, W). Returns (out, cache), out: (N, C, H', W'). The cache keeps which
    offset in each window won (the first, if several tie), so backward can route dout there.
    """
    # YOUR CODE HERE
    raise NotImplementedError("a04.max_pool_forward")
    cache = (x.shape, hh, ww, stride, argmax)
    return out, cache


def max_pool_backward(dout: Tensor, cache: tuple) -> Tensor:
    """Backward pass of max pooling: each window's dout goes to its maximum only.

    dout: (N, C, H', W'). Returns dx: (N, C, H, W); where windows overlap, a pixel that is
    the maximum of several windows receives the sum of their gradients.
    """
    x_shape, hh, ww, stride, argmax = cache
    # YOUR CODE HERE
    raise NotImplementedError("a04.max_pool_backward")
    return dx


def avg_pool_forward(x: Tensor, hh: int, ww: int, stride: int) -> tuple[Tensor, tuple]:
    """The mean of each window, channel by channel.

    x: (N, C, H, W). Returns (out, cache), out: (N, C, H', W').
    """
    # YOUR CODE HERE
    raise NotImplementedError("a04.avg_pool_forward")
    cache = (x.shape, hh, ww, stride)
    return out, cache


def avg_pool_backward(dout: Tensor, cache: tuple) -> Tensor:
    """Backward pass of average pooling: each window's dout is shared equally by its HH*WW inputs.

    dout: (N, C, H', W'). Returns dx: (N, C, H, W).
    """
    x_shape, hh, ww, stride = cache
    # YOUR CODE HERE
    raise NotImplementedError("a04.avg_pool_backward")
    return dx


def flatten_forward(x: Tensor) -> tuple[Tensor, tuple]:
    """Feature maps to vectors for the fully connected layers, in C, H, W order.

    x: (N, C, H, W) (or any (N, ...)). Returns (out, cache), out: (N, C*H*W).
    """
    # YOUR CODE HERE
    raise NotImplementedError("a04.flatten_forward")
    cache = x.shape
    return out, cache


def flatten_backward(dout: Tensor, cache: tuple) -> Tensor:
    """Backward pass of flattening: dout (N, C*H*W) back to the input's shape (N, C, H, W)."""
    x_shape = cache
    # YOUR CODE HERE
    raise NotImplementedError("a04.flatten_backward")
    return dx
