"""AlexNet's layers (Krizhevsky, Sutskever and Hinton, 2012), each a ``forward -> (out, cache)`` / ``backward(dout, cache)`` pair.

Grouped convolution (the paper's two-GPU split), overlapping max pooling, local response
normalization across channels, and inverted dropout; ReLU, flatten and the fully connected
layer are given. Convolution and pooling are written with ``torch.nn.functional.unfold``
(im2col: one column per output position, rows ordered channel, kernel row, kernel column)
and ``fold`` (its adjoint, col2im: overlapping columns are summed). Shapes: N images,
C channels, H x W pixels, F filters.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F

Tensor = torch.Tensor


def out_size(size: int, kernel: int, stride: int = 1, pad: int = 0) -> int:
    """Output length along one axis: (size + 2 * pad - kernel) // stride + 1."""
    return (size + 2 * pad - kernel) // stride + 1


def conv_forward(x: Tensor, w: Tensor, b: Tensor, stride: int = 1, pad: int = 0,
                 groups: int = 1) -> tuple[Tensor, tuple]:
    """Grouped 2-D convolution (cross-correlation, no kernel flip), with zero padding.

    The C input channels and F filters are split into ``groups`` equal groups; filter group g
    sees only input-channel group g (AlexNet's conv2, conv4 and conv5 use two groups, one per GPU).
    x: (N, C, H, W); w: (F, C // groups, KH, KW); b: (F,). Returns (out, cache),
    out: (N, F, H', W') with H' = (H + 2 * pad - KH) // stride + 1, likewise W'.
    """
    ### BEGIN SOLUTION
    n, c, h, wd = x.shape
    f, cg, kh, kw = w.shape
    cols = F.unfold(x, (kh, kw), padding=pad, stride=stride)  # (N, C*KH*KW, L)
    cols = cols.reshape(n, groups, cg * kh * kw, -1)  # (N, G, Cg*KH*KW, L): channel groups are contiguous rows
    wg = w.reshape(groups, f // groups, cg * kh * kw)  # (G, Fg, Cg*KH*KW)
    out = torch.einsum("gfk,ngkl->ngfl", wg, cols)  # (N, G, Fg, L)
    out = out.reshape(n, f, out_size(h, kh, stride, pad), out_size(wd, kw, stride, pad))  # (N, F, H', W')
    out = out.contiguous() + b.reshape(1, f, 1, 1)  # einsum may hand back a permuted layout
    ### END SOLUTION
    cache = (x, w, b, stride, pad, groups)
    return out, cache


def conv_backward(dout: Tensor, cache: tuple) -> tuple[Tensor, Tensor, Tensor]:
    """Backward pass of conv_forward.

    dout: (N, F, H', W'). Returns (dx, dw, db) of shapes (N, C, H, W), (F, C // groups, KH, KW), (F,).
    """
    x, w, b, stride, pad, groups = cache
    ### BEGIN SOLUTION
    n, c, h, wd = x.shape
    f, cg, kh, kw = w.shape
    cols = F.unfold(x, (kh, kw), padding=pad, stride=stride).reshape(n, groups, cg * kh * kw, -1)  # (N, G, K, L)
    dout_g = dout.reshape(n, groups, f // groups, -1)  # (N, G, Fg, L)
    db = dout.sum(dim=(0, 2, 3))  # (F,)
    dw = torch.einsum("ngfl,ngkl->gfk", dout_g, cols).reshape(w.shape)  # (F, Cg, KH, KW)
    dcols = torch.einsum("gfk,ngfl->ngkl", w.reshape(groups, f // groups, -1), dout_g)  # (N, G, K, L)
    dx = F.fold(dcols.reshape(n, c * kh * kw, -1), (h, wd), (kh, kw), padding=pad, stride=stride)  # (N, C, H, W)
    ### END SOLUTION
    return dx, dw, db


def max_pool_forward(x: Tensor, kernel: int = 3, stride: int = 2) -> tuple[Tensor, tuple]:
    """Max pooling over kernel x kernel windows; with stride < kernel the windows overlap
    (AlexNet: kernel 3, stride 2).

    x: (N, C, H, W). Returns (out, cache), out: (N, C, H', W'), H' = (H - kernel) // stride + 1.
    """
    ### BEGIN SOLUTION
    n, c, h, wd = x.shape
    cols = F.unfold(x.reshape(n * c, 1, h, wd), kernel, stride=stride)  # (N*C, k*k, L)
    out, argmax = cols.max(dim=1)  # (N*C, L): the winner's place in its window
    out = out.reshape(n, c, out_size(h, kernel, stride), out_size(wd, kernel, stride))  # (N, C, H', W')
    cache = (x.shape, kernel, stride, argmax)
    ### END SOLUTION
    return out, cache


def max_pool_backward(dout: Tensor, cache: tuple) -> Tensor:
    """Backward pass of max pooling: each window's gradient goes to its maximum only; where
    windows overlap, an element that wins several windows collects all their gradients.

    dout: (N, C, H', W'). Returns dx: (N, C, H, W).
    """
    ### BEGIN SOLUTION
    (n, c, h, wd), kernel, stride, argmax = cache
    dcols = torch.zeros(n * c, kernel * kernel, argmax.shape[1], dtype=dout.dtype, device=dout.device)  # (N*C, k*k, L)
    dcols.scatter_(1, argmax.unsqueeze(1), dout.reshape(n * c, 1, -1))
    dx = F.fold(dcols, (h, wd), kernel, stride=stride).reshape(n, c, h, wd)  # sums the overlaps
    ### END SOLUTION
    return dx


def _window_sum(t: Tensor, n: int) -> Tensor:
    """Sum over a window of n neighbouring channels, centred (n odd), cut at the edges.

    t: (N, C, H, W). Returns (N, C, H, W): out[:, i] = sum of t[:, j] for |j - i| <= n // 2.
    """
    c = t.shape[1]
    padded = F.pad(t, (0, 0, 0, 0, n // 2, (n - 1) // 2))  # (N, C + n - 1, H, W) zero channels
    return sum(padded[:, j:j + c] for j in range(n))


def lrn_forward(x: Tensor, k: float = 2.0, n: int = 5, alpha: float = 1e-4,
                beta: float = 0.75) -> tuple[Tensor, tuple]:
    """Local response normalization across channels, as in the AlexNet paper (section 3.3):

    b_i = a_i / (k + alpha * sum_{j = max(0, i - n/2)}^{min(C - 1, i + n/2)} a_j^2) ^ beta.

    The paper's alpha multiplies the sum itself; torch's ``nn.LocalResponseNorm`` divides its
    alpha by n, so the paper's alpha = 1e-4 is torch's alpha = 5e-4. n is odd.
    x: (N, C, H, W). Returns (out, cache), out: (N, C, H, W).
    """
    ### BEGIN SOLUTION
    scale = k + alpha * _window_sum(x * x, n)  # (N, C, H, W)
    out = x * scale ** -beta
    cache = (x, scale, n, alpha, beta)
    ### END SOLUTION
    return out, cache


def lrn_backward(dout: Tensor, cache: tuple) -> Tensor:
    """Backward pass of local response normalization.

    With s_i the denominator's base (k + alpha * window sum), b_i = a_i * s_i^-beta and a_m sits in
    the window of every i within n // 2 of m:
    dx_m = dout_m * s_m^-beta - 2 * alpha * beta * a_m * sum_{i near m} dout_i * a_i * s_i^(-beta-1).
    dout: (N, C, H, W). Returns dx: (N, C, H, W).
    """
    ### BEGIN SOLUTION
    x, scale, n, alpha, beta = cache
    through_sum = _window_sum(dout * x * scale ** (-beta - 1.0), n)  # (N, C, H, W); the window is symmetric
    dx = dout * scale ** -beta - 2.0 * alpha * beta * x * through_sum
    ### END SOLUTION
    return dx


def dropout_forward(x: Tensor, p: float, noise: Tensor, train: bool = True) -> tuple[Tensor, tuple]:
    """Inverted dropout: in training, zero each unit with probability p and scale the kept ones
    by 1 / (1 - p), so the expected output equals x and inference needs no rescaling.

    The randomness is an input: a unit is kept where noise >= p (noise is uniform on [0, 1)).
    In inference (train=False) the layer is the identity. x, noise: same shape, any.
    Returns (out, cache), out of x's shape.
    """
    ### BEGIN SOLUTION
    if train:
        mask = (noise >= p).to(x.dtype) / (1.0 - p)  # the kept units, already rescaled
        out = x * mask
    else:
        mask = None
        out = x
    cache = mask
    ### END SOLUTION
    return out, cache


def dropout_backward(dout: Tensor, cache) -> Tensor:
    """Backward pass of dropout: the gradient flows through the kept units, with the same scale.

    dout: the shape of the forward's output. Returns dx of that shape.
    """
    ### BEGIN SOLUTION
    mask = cache
    dx = dout if mask is None else dout * mask
    ### END SOLUTION
    return dx


def relu_forward(x: Tensor) -> tuple[Tensor, Tensor]:
    """ReLU, elementwise (given: a02's layer). Returns (out, cache)."""
    return torch.clamp(x, min=0.0), x


def relu_backward(dout: Tensor, cache: Tensor) -> Tensor:
    """Gradient of ReLU: dout where x > 0, else 0. Returns dx."""
    return dout * (cache > 0).to(dout.dtype)


def flatten_forward(x: Tensor) -> tuple[Tensor, torch.Size]:
    """(N, C, H, W) -> (N, C * H * W), channel-major like torch's flatten (given). Returns (out, cache)."""
    return x.reshape(x.shape[0], -1), x.shape


def flatten_backward(dout: Tensor, cache: torch.Size) -> Tensor:
    """(N, C * H * W) -> (N, C, H, W) (given). Returns dx."""
    return dout.reshape(cache)


def affine_forward(x: Tensor, w: Tensor, b: Tensor) -> tuple[Tensor, tuple]:
    """Fully connected layer, out = x @ w + b (given: a02's layer). x: (N, D); w: (D, M); b: (M,).
    Returns (out, cache), out: (N, M)."""
    return x @ w + b, (x, w)


def affine_backward(dout: Tensor, cache: tuple) -> tuple[Tensor, Tensor, Tensor]:
    """Backward pass of the fully connected layer. dout: (N, M). Returns (dx, dw, db): (N, D), (D, M), (M,)."""
    x, w = cache
    return dout @ w.T, x.T @ dout, dout.sum(dim=0)
