"""Alternative a05 layers, correct but written differently from the reference: convolution by shifted
slices per group and kernel offset (no unfold), pooling and LRN by loops over windows and channels,
dropout with torch.where. The grader must give them full marks."""
import torch


def _geometry(x, kh, kw, stride, pad):
    return (x.shape[2] + 2 * pad - kh) // stride + 1, (x.shape[3] + 2 * pad - kw) // stride + 1


def _padded(x, pad):
    n, c, h, w = x.shape
    xp = torch.zeros(n, c, h + 2 * pad, w + 2 * pad, dtype=x.dtype, device=x.device)
    xp[:, :, pad:pad + h, pad:pad + w] = x
    return xp


def conv_forward(x, w, b, stride=1, pad=0, groups=1):
    f, cg, kh, kw = w.shape
    ho, wo = _geometry(x, kh, kw, stride, pad)
    xp, fg = _padded(x, pad), f // groups
    out = b.view(1, f, 1, 1).expand(x.shape[0], f, ho, wo).clone()
    for g in range(groups):
        xs, ws = xp[:, g * cg:(g + 1) * cg], w[g * fg:(g + 1) * fg]
        for i in range(kh):
            for j in range(kw):
                patch = xs[:, :, i:i + stride * (ho - 1) + 1:stride, j:j + stride * (wo - 1) + 1:stride]
                out[:, g * fg:(g + 1) * fg] += torch.einsum("nchw,fc->nfhw", patch, ws[:, :, i, j])
    return out, (x, w, b, stride, pad, groups)


def conv_backward(dout, cache):
    x, w, b, stride, pad, groups = cache
    f, cg, kh, kw = w.shape
    ho, wo = dout.shape[2], dout.shape[3]
    xp, fg = _padded(x, pad), f // groups
    dxp, dw = torch.zeros_like(xp), torch.zeros_like(w)
    for g in range(groups):
        xs, ws, d = xp[:, g * cg:(g + 1) * cg], w[g * fg:(g + 1) * fg], dout[:, g * fg:(g + 1) * fg]
        for i in range(kh):
            for j in range(kw):
                rows, cols = slice(i, i + stride * (ho - 1) + 1, stride), slice(j, j + stride * (wo - 1) + 1, stride)
                dw[g * fg:(g + 1) * fg, :, i, j] = torch.einsum("nfhw,nchw->fc", d, xs[:, :, rows, cols])
                dxp[:, g * cg:(g + 1) * cg, rows, cols] += torch.einsum("nfhw,fc->nchw", d, ws[:, :, i, j])
    h, wd = x.shape[2], x.shape[3]
    return dxp[:, :, pad:pad + h, pad:pad + wd], dw, dout.sum((0, 2, 3))


def max_pool_forward(x, kernel=3, stride=2):
    ho, wo = _geometry(x, kernel, kernel, stride, 0)
    out = torch.empty(x.shape[0], x.shape[1], ho, wo, dtype=x.dtype, device=x.device)
    for i in range(ho):
        for j in range(wo):
            out[:, :, i, j] = x[:, :, i * stride:i * stride + kernel, j * stride:j * stride + kernel].amax(dim=(2, 3))
    return out, (x, kernel, stride)


def max_pool_backward(dout, cache):
    x, kernel, stride = cache
    dx = torch.zeros_like(x)
    for i in range(dout.shape[2]):
        for j in range(dout.shape[3]):
            rows, cols = slice(i * stride, i * stride + kernel), slice(j * stride, j * stride + kernel)
            window = x[:, :, rows, cols]
            winner = window == window.amax(dim=(2, 3), keepdim=True)
            dx[:, :, rows, cols] += winner * dout[:, :, i, j, None, None]
    return dx


def lrn_forward(x, k=2.0, n=5, alpha=1e-4, beta=0.75):
    c, half = x.shape[1], n // 2
    sq = x * x
    sums = torch.stack([sq[:, max(0, i - half):min(c, i + half + 1)].sum(1) for i in range(c)], dim=1)
    base = k + alpha * sums
    return x / base ** beta, (x, base, half, alpha, beta)


def lrn_backward(dout, cache):
    x, base, half, alpha, beta = cache
    c = x.shape[1]
    through = dout * x * base ** (-beta - 1)
    dx = dout / base ** beta
    for m in range(c):
        dx[:, m] -= 2 * alpha * beta * x[:, m] * through[:, max(0, m - half):min(c, m + half + 1)].sum(1)
    return dx


def dropout_forward(x, p, noise, train=True):
    if not train:
        return x.clone(), None
    keep = noise >= p
    return torch.where(keep, x / (1 - p), torch.zeros_like(x)), (keep, p)


def dropout_backward(dout, cache):
    if cache is None:
        return dout.clone()
    keep, p = cache
    return torch.where(keep, dout / (1 - p), torch.zeros_like(dout))
