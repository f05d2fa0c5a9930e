"""Alternative a04 convolutions, correct but written differently from the reference: sliding-window
views and einsum, loops over kernel offsets instead of output positions, gathers and scatters with
index tensors instead of strided slices. The grader must give them full marks (``grader audit``)."""
import torch


def _pad(x, pad):
    n, c, h, w = x.shape
    out = x.new_zeros(n, c, h + 2 * pad, w + 2 * pad)
    out[:, :, pad:pad + h, pad:pad + w] = x
    return out


def _window_index(size, kernel, stride, pad):
    """(kernel, positions) index of every window's rows (or columns) in the padded input."""
    positions = (size + 2 * pad - kernel) // stride + 1
    return torch.arange(kernel)[:, None] + stride * torch.arange(positions)[None, :]


def conv_forward_naive(x, w, b, stride=1, pad=0):
    hh, ww = w.shape[2], w.shape[3]
    windows = _pad(x, pad).unfold(2, hh, stride).unfold(3, ww, stride)  # (N, C, H', W', HH, WW)
    out = torch.einsum("nchwpq,fcpq->nfhw", windows, w) + b[None, :, None, None]
    return out, (x, w, b, stride, pad)


def conv_backward_naive(dout, cache):
    x, w, b, stride, pad = cache
    h_out, w_out = dout.shape[2], dout.shape[3]
    x_pad = _pad(x, pad)
    dx_pad = torch.zeros_like(x_pad)
    dw = torch.zeros_like(w)
    for p in range(w.shape[2]):  # one kernel offset at a time
        for q in range(w.shape[3]):
            rows = slice(p, p + stride * (h_out - 1) + 1, stride)
            cols = slice(q, q + stride * (w_out - 1) + 1, stride)
            dw[:, :, p, q] = torch.einsum("nfhw,nchw->fc", dout, x_pad[:, :, rows, cols])
            dx_pad[:, :, rows, cols] += torch.einsum("nfhw,fc->nchw", dout, w[:, :, p, q])
    h, wd = x.shape[2], x.shape[3]
    return dx_pad[:, :, pad:pad + h, pad:pad + wd].clone(), dw, dout.sum(dim=(0, 2, 3))


def im2col(x, hh, ww, stride=1, pad=0):
    n, c, h, wd = x.shape
    rows = _window_index(h, hh, stride, pad).to(x.device)  # (HH, H')
    cols = _window_index(wd, ww, stride, pad).to(x.device)  # (WW, W')
    patches = _pad(x, pad)[:, :, rows[:, None, :, None], cols[None, :, None, :]]  # (N, C, HH, WW, H', W')
    return patches.reshape(n, c * hh * ww, rows.shape[1] * cols.shape[1])


def col2im(cols, x_shape, hh, ww, stride=1, pad=0):
    n, c, h, wd = x_shape
    rows = _window_index(h, hh, stride, pad).to(cols.device)
    cidx = _window_index(wd, ww, stride, pad).to(cols.device)
    values = cols.reshape(n, c, hh, ww, rows.shape[1], cidx.shape[1])
    r = rows[:, None, :, None].expand(hh, ww, rows.shape[1], cidx.shape[1])
    q = cidx[None, :, None, :].expand(hh, ww, rows.shape[1], cidx.shape[1])
    flat = (r * (wd + 2 * pad) + q).reshape(-1)  # index into the flattened padded image
    x_pad = cols.new_zeros(n, c, (h + 2 * pad) * (wd + 2 * pad))
    x_pad.index_add_(2, flat, values.reshape(n, c, -1))
    x_pad = x_pad.reshape(n, c, h + 2 * pad, wd + 2 * pad)
    return x_pad[:, :, pad:pad + h, pad:pad + wd].clone()


def conv_forward(x, w, b, stride=1, pad=0):
    n, _, h, wd = x.shape
    f, _, hh, ww = w.shape
    cols = im2col(x, hh, ww, stride, pad)  # (N, K, L)
    out = torch.einsum("fk,nkl->nfl", w.reshape(f, -1), cols) + b[None, :, None]
    h_out, w_out = (h + 2 * pad - hh) // stride + 1, (wd + 2 * pad - ww) // stride + 1
    return out.reshape(n, f, h_out, w_out), (x.shape, w, stride, pad, cols)


def conv_backward(dout, cache):
    x_shape, w, stride, pad, cols = cache
    f = w.shape[0]
    d = dout.flatten(2)  # (N, F, L)
    dw = torch.einsum("nfl,nkl->fk", d, cols).reshape(w.shape)
    dcols = torch.einsum("fk,nfl->nkl", w.reshape(f, -1), d)
    return col2im(dcols, x_shape, w.shape[2], w.shape[3], stride, pad), dw, d.sum(dim=2).sum(dim=0)
