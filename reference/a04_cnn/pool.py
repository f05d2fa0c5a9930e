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
    ### BEGIN SOLUTION
    h, wd = x.shape[2], x.shape[3]
    h_out, w_out = _windows(h, wd, hh, ww, stride)
    # Window entries side by side: offset (p, q) of every window is one strided slice.
    stacked = torch.stack([x[:, :, p:p + stride * h_out:stride, q:q + stride * w_out:stride]
                           for p in range(hh) for q in range(ww)], dim=2)  # (N, C, HH*WW, H', W')
    out, argmax = stacked.max(dim=2)  # (N, C, H', W') each
    ### END SOLUTION
    cache = (x.shape, hh, ww, stride, argmax)
    return out, cache


def max_pool_backward(dout: Tensor, cache: tuple) -> Tensor:
    """Backward pass of max pooling: each window's dout goes to its maximum only.

    dout: (N, C, H', W'). Returns dx: (N, C, H, W); where windows overlap, a pixel that is
    the maximum of several windows receives the sum of their gradients.
    """
    x_shape, hh, ww, stride, argmax = cache
    ### BEGIN SOLUTION
    h_out, w_out = dout.shape[2], dout.shape[3]
    dx = dout.new_zeros(x_shape)
    for p in range(hh):
        for q in range(ww):
            won = (argmax == p * ww + q).to(dout.dtype)  # (N, C, H', W')
            dx[:, :, p:p + stride * h_out:stride, q:q + stride * w_out:stride] += dout * won
    ### END SOLUTION
    return dx


def avg_pool_forward(x: Tensor, hh: int, ww: int, stride: int) -> tuple[Tensor, tuple]:
    """The mean of each window, channel by channel.

    x: (N, C, H, W). Returns (out, cache), out: (N, C, H', W').
    """
    ### BEGIN SOLUTION
    n, c, h, wd = x.shape
    h_out, w_out = _windows(h, wd, hh, ww, stride)
    out = x.new_zeros(n, c, h_out, w_out)
    for p in range(hh):
        for q in range(ww):
            out += x[:, :, p:p + stride * h_out:stride, q:q + stride * w_out:stride]
    out = out / (hh * ww)
    ### END SOLUTION
    cache = (x.shape, hh, ww, stride)
    return out, cache


def avg_pool_backward(dout: Tensor, cache: tuple) -> Tensor:
    """Backward pass of average pooling: each window's dout is shared equally by its HH*WW inputs.

    dout: (N, C, H', W'). Returns dx: (N, C, H, W).
    """
    x_shape, hh, ww, stride = cache
    ### BEGIN SOLUTION
    h_out, w_out = dout.shape[2], dout.shape[3]
    dx = dout.new_zeros(x_shape)
    share = dout / (hh * ww)  # (N, C, H', W')
    for p in range(hh):
        for q in range(ww):
            dx[:, :, p:p + stride * h_out:stride, q:q + stride * w_out:stride] += share
    ### END SOLUTION
    return dx


def flatten_forward(x: Tensor) -> tuple[Tensor, tuple]:
    """Feature maps to vectors for the fully connected layers, in C, H, W order.

    x: (N, C, H, W) (or any (N, ...)). Returns (out, cache), out: (N, C*H*W).
    """
    ### BEGIN SOLUTION
    out = x.reshape(x.shape[0], -1)  # (N, C*H*W)
    ### END SOLUTION
    cache = x.shape
    return out, cache


def flatten_backward(dout: Tensor, cache: tuple) -> Tensor:
    """Backward pass of flattening: dout (N, C*H*W) back to the input's shape (N, C, H, W)."""
    x_shape = cache
    ### BEGIN SOLUTION
    dx = dout.reshape(x_shape)
    ### END SOLUTION
    return dx
