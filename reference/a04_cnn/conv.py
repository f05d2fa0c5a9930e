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
    ### BEGIN SOLUTION
    n, _, h, wd = x.shape
    f, _, hh, ww = w.shape
    h_out, w_out = output_size(h, hh, stride, pad), output_size(wd, ww, stride, pad)
    x_pad = torch.nn.functional.pad(x, (pad, pad, pad, pad))  # (N, C, H + 2P, W + 2P)
    w_row = w.reshape(f, -1)  # (F, C*HH*WW)
    out = x.new_empty(n, f, h_out, w_out)
    for i in range(h_out):
        for j in range(w_out):
            patch = x_pad[:, :, i * stride:i * stride + hh, j * stride:j * stride + ww]  # (N, C, HH, WW)
            out[:, :, i, j] = patch.reshape(n, -1) @ w_row.T + b  # (N, F)
    ### END SOLUTION
    cache = (x, w, b, stride, pad)
    return out, cache


def conv_backward_naive(dout: Tensor, cache: tuple) -> tuple[Tensor, Tensor, Tensor]:
    """Backward pass of :func:`conv_forward_naive`, by the same loop over output positions.

    dout: (N, F, H', W'). Returns (dx, dw, db) of shapes (N, C, H, W), (F, C, HH, WW), (F,).
    """
    x, w, b, stride, pad = cache
    ### BEGIN SOLUTION
    n, c, h, wd = x.shape
    f, _, hh, ww = w.shape
    _, _, h_out, w_out = dout.shape
    x_pad = torch.nn.functional.pad(x, (pad, pad, pad, pad))  # (N, C, H + 2P, W + 2P)
    dx_pad = torch.zeros_like(x_pad)
    w_row = w.reshape(f, -1)  # (F, C*HH*WW)
    dw_row = torch.zeros_like(w_row)
    for i in range(h_out):
        for j in range(w_out):
            rows, cols = slice(i * stride, i * stride + hh), slice(j * stride, j * stride + ww)
            d = dout[:, :, i, j]  # (N, F)
            dw_row += d.T @ x_pad[:, :, rows, cols].reshape(n, -1)  # (F, C*HH*WW)
            dx_pad[:, :, rows, cols] += (d @ w_row).reshape(n, c, hh, ww)
    dx = dx_pad[:, :, pad:pad + h, pad:pad + wd]  # drop the padding: it is not an input
    dw = dw_row.reshape(w.shape)
    db = dout.sum(dim=(0, 2, 3))  # (F,)
    ### END SOLUTION
    return dx, dw, db


def im2col(x: Tensor, hh: int, ww: int, stride: int = 1, pad: int = 0) -> Tensor:
    """Every receptive field as a column: the layout of ``torch.nn.functional.unfold``.

    x: (N, C, H, W). Returns cols: (N, C*HH*WW, H'*W'); row index c*HH*WW + p*WW + q holds
    channel c at kernel offset (p, q), column index i*W' + j is output position (i, j). So
    ``w.reshape(F, -1) @ cols`` is the convolution.
    """
    ### BEGIN SOLUTION
    n, c, h, wd = x.shape
    h_out, w_out = output_size(h, hh, stride, pad), output_size(wd, ww, stride, pad)
    x_pad = torch.nn.functional.pad(x, (pad, pad, pad, pad))  # (N, C, H + 2P, W + 2P)
    cols = x.new_empty(n, c, hh, ww, h_out, w_out)
    # One strided slice per kernel offset: HH*WW copies instead of H'*W' small ones.
    for p in range(hh):
        for q in range(ww):
            cols[:, :, p, q] = x_pad[:, :, p:p + stride * h_out:stride, q:q + stride * w_out:stride]
    cols = cols.reshape(n, c * hh * ww, h_out * w_out)
    ### END SOLUTION
    return cols


def col2im(cols: Tensor, x_shape: tuple[int, int, int, int], hh: int, ww: int, stride: int = 1,
           pad: int = 0) -> Tensor:
    """The adjoint of :func:`im2col` (``torch.nn.functional.fold``): columns summed back into an image.

    cols: (N, C*HH*WW, H'*W'); x_shape: (N, C, H, W). Returns x: (N, C, H, W), where a pixel
    covered by several receptive fields receives the sum of their entries.
    """
    ### BEGIN SOLUTION
    n, c, h, wd = x_shape
    h_out, w_out = output_size(h, hh, stride, pad), output_size(wd, ww, stride, pad)
    cols = cols.reshape(n, c, hh, ww, h_out, w_out)
    x_pad = cols.new_zeros(n, c, h + 2 * pad, wd + 2 * pad)
    for p in range(hh):
        for q in range(ww):
            x_pad[:, :, p:p + stride * h_out:stride, q:q + stride * w_out:stride] += cols[:, :, p, q]
    x = x_pad[:, :, pad:pad + h, pad:pad + wd]  # (N, C, H, W)
    ### END SOLUTION
    return x


def conv_forward(x: Tensor, w: Tensor, b: Tensor, stride: int = 1, pad: int = 0) -> tuple[Tensor, tuple]:
    """Fast convolution: im2col, then one batched matrix product with the flattened filters.

    x: (N, C, H, W); w: (F, C, HH, WW); b: (F,). Returns (out, cache), out: (N, F, H', W').
    """
    ### BEGIN SOLUTION
    n, _, h, wd = x.shape
    f, _, hh, ww = w.shape
    h_out, w_out = output_size(h, hh, stride, pad), output_size(wd, ww, stride, pad)
    cols = im2col(x, hh, ww, stride, pad)  # (N, C*HH*WW, H'*W')
    out = w.reshape(f, -1) @ cols + b.reshape(f, 1)  # (N, F, H'*W')
    out = out.reshape(n, f, h_out, w_out)
    ### END SOLUTION
    cache = (x.shape, w, b, stride, pad, cols)
    return out, cache


def conv_backward(dout: Tensor, cache: tuple) -> tuple[Tensor, Tensor, Tensor]:
    """Backward pass of :func:`conv_forward`: dw from the cached columns, dx through col2im.

    dout: (N, F, H', W'). Returns (dx, dw, db) of shapes (N, C, H, W), (F, C, HH, WW), (F,).
    """
    x_shape, w, b, stride, pad, cols = cache
    ### BEGIN SOLUTION
    n = dout.shape[0]
    f, _, hh, ww = w.shape
    d = dout.reshape(n, f, -1)  # (N, F, H'*W')
    dw = (d @ cols.transpose(1, 2)).sum(dim=0).reshape(w.shape)  # (N, F, C*HH*WW) summed over examples
    dcols = w.reshape(f, -1).T @ d  # (N, C*HH*WW, H'*W')
    dx = col2im(dcols, x_shape, hh, ww, stride, pad)  # (N, C, H, W)
    db = d.sum(dim=(0, 2))  # (F,)
    ### END SOLUTION
    return dx, dw, db
