"""Alternative a04 pooling: sliding-window views (Tensor.unfold) forward, loops over output
positions backward, with its own cache layout. The grader must give it full marks."""
import torch


def max_pool_forward(x, hh, ww, stride):
    windows = x.unfold(2, hh, stride).unfold(3, ww, stride)  # (N, C, H', W', HH, WW)
    out, idx = windows.flatten(4).max(dim=4)
    return out, (x, hh, ww, stride, idx)


def max_pool_backward(dout, cache):
    x, hh, ww, stride, idx = cache
    dx = torch.zeros_like(x)
    for i in range(dout.shape[2]):
        for j in range(dout.shape[3]):
            p, q = idx[:, :, i, j] // ww, idx[:, :, i, j] % ww  # (N, C) winner of each window
            window = dx[:, :, i * stride:i * stride + hh, j * stride:j * stride + ww].reshape(*dx.shape[:2], -1)
            window = window.scatter_add(2, (p * ww + q)[:, :, None], dout[:, :, i, j, None])
            dx[:, :, i * stride:i * stride + hh, j * stride:j * stride + ww] = window.reshape(*dx.shape[:2], hh, ww)
    return dx


def avg_pool_forward(x, hh, ww, stride):
    out = x.unfold(2, hh, stride).unfold(3, ww, stride).mean(dim=(4, 5))
    return out, (x.shape, x.dtype, x.device, hh, ww, stride)


def avg_pool_backward(dout, cache):
    shape, dtype, device, hh, ww, stride = cache
    dx = torch.zeros(shape, dtype=dtype, device=device)
    for i in range(dout.shape[2]):
        for j in range(dout.shape[3]):
            dx[:, :, i * stride:i * stride + hh, j * stride:j * stride + ww] += dout[:, :, i:i + 1, j:j + 1] / (hh * ww)
    return dx


def flatten_forward(x):
    return torch.flatten(x, start_dim=1), tuple(x.shape)


def flatten_backward(dout, cache):
    return dout.reshape(*cache)
