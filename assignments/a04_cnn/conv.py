"""2-D convolution, naive (loops over output positions) and fast (im2col + one matrix product).

Convolution here is what ``torch.nn.functional.conv2d`` computes: cross-correlation, the
kernel is not flipped. Shapes: N examples, C input channels, H x W input, F filters of
size HH x WW, zero padding P on every side, stride S, output H' x W' with
H' = (H + 2P - HH) / S + 1 and W' = (W + 2P - WW) / S + 1, rounded down as torch does when
the stride does not tile the padded input (the last rows and columns are then unused).
"""
from __future__ import annotations

import torch

Tensor = torch.Tensor


def output_size(size: int, kernel: int, stride: int = 1, pad: int = 0) -> int:
    """H' = floor((H + 2P - K) / S) + 1, the number of positions of a K-wide window."""
    span = size + 2 * pad - kernel
    if span < 0 or stride < 1:
        raise ValueError(f"a kernel of {kernel} does not fit an input of {size} padded by {pad}")
    return span // stride + 1


def conv_forward_naive(x: Tensor, w: Tensor, b: Tensor, stride: int = 1, pad: int = 0) -> tuple[Tensor, tuple]:
    """Convolution by a loop over output positions; each position is one small matrix product.

    x: (N, C, H, W); w: (F, C, HH, WW); b: (F,). Returns (out, cache), out: (N, F, H', W').
    """
    # YOUR CODE HERE
    raise NotImplementedError("a04.conv_forward_naive")
    cache = (x, w, b, stride, pad)
    return out, cache


def conv_backward_naive(dout: Tensor, cache: tuple) -> tuple[Tensor, Tensor, Tensor]:
    """Backward pass of :func:`conv_forward_naive`, by the same loop over output positions.

    dout: (N, F, H', W'). Returns (dx, dw, db) of shapes (N, C, H, W), (F, C, HH, WW), (F,).
    """
    x, w, b, stride, pad = cache
    # YOUR CODE HERE
    raise NotImplementedError("a04.conv_backward_naive")
    return dx, dw, db


def im2col(x: Tensor, hh: int, ww: int, stride: int = 1, pad: int = 0) -> Tensor:
    """Every receptive field as a column: the layout of ``torch.nn.functional.unfold``.

    x: (N, C, H, W). Returns cols: (N, C*HH*WW, H'*W'); row index c*HH*WW + p*WW + q holds
    channel c at kernel offset (p, q), column index i*W' + j is output position (i, j). So
    ``w.reshape(F, -1) @ cols`` is the convolution.
    """
    # YOUR CODE HERE
    raise NotImplementedError("a04.im2col")
    return cols


def col2im(cols: Tensor, x_shape: tuple[int, int, int, int], hh: int, ww: int, stride: int = 1,
           pad: int = 0) -> Tensor:
    """The adjoint of :func:`im2col` (``torch.nn.functional.fold``): columns summed back into an image.

    cols: (N, C*HH*WW, H'*W'); x_shape: (N, C, H, W). Returns x: (N, C, H, W), where a pixel
    covered by several receptive fields receives the sum of their entries.
    """
    # YOUR CODE HERE
    raise NotImplementedError("a04.col2im")
    return x


def conv_forward(x: Tensor, w: Tensor, b: Tensor, stride: int = 1, pad: int = 0) -> tuple[Tensor, tuple]:
    """Fast convolution: im2col, then one batched matrix product with the flattened filters.

    x: (N, C, H, W); w: (F, C, HH, WW); b: (F,). Returns (out, cache), out: (N, F, H', W').
    """
    # YOUR CODE HERE
    raise NotImplementedError("a04.conv_forward")
    cache = (x.shape, w, b, stride, pad, cols)
    return out, cache


def conv_backward(dout: Tensor, cache: tuple) -> tuple[Tensor, Tensor, Tensor]:
    """Backward pass of :func:`conv_forward`: dw from the cached columns, dx through col2im.

    dout: (N, F, H', W'). Returns (dx, dw, db) of shapes (N, C, H, W), (F, C, HH, WW), (F,).
    """
    x_shape, w, b, stride, pad, cols = cache
    # YOUR CODE HERE
    raise NotImplementedError("a04.conv_backward")
    return dx, dw, db
