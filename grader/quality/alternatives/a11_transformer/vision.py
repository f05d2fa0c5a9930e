"""Alternative a11 attention in vision, correct but written differently from the reference: einsum and
torch.softmax, the spatial weights position by position, split attention split by split, a cache of
inputs recomputed in the backward."""
import torch


def spatial_attention_forward(v, h, w_s, b_s, w_hs, w_i):
    n, c, hh, ww = v.shape
    hid = h @ w_hs.T  # (N, K)
    scores = torch.empty(n, hh, ww, dtype=v.dtype, device=v.device)
    for y in range(hh):
        for x in range(ww):
            scores[:, y, x] = torch.tanh(v[:, :, y, x] @ w_s.T + b_s + hid) @ w_i
    alpha = torch.softmax(scores.reshape(n, -1), dim=1).reshape(n, 1, hh, ww)
    return v * alpha, (v, h, w_s, b_s, w_hs, w_i)


def spatial_attention_backward(dout, cache):
    v, h, w_s, b_s, w_hs, w_i = cache
    n, c, hh, ww = v.shape
    a = torch.tanh(torch.einsum("nchw,kc->nhwk", v, w_s) + b_s + (h @ w_hs.T)[:, None, None, :])  # (N, H, W, K)
    alpha = torch.softmax((a @ w_i).reshape(n, -1), dim=1).reshape(n, hh, ww)
    dalpha = torch.einsum("nchw,nchw->nhw", dout, v)
    dscore = alpha * (dalpha - (alpha * dalpha).sum(dim=(1, 2), keepdim=True))
    dpre = dscore[..., None] * w_i * (1 - a ** 2)  # (N, H, W, K)
    dv = dout * alpha[:, None] + torch.einsum("nhwk,kc->nchw", dpre, w_s)
    return (dv, torch.einsum("nhwk,kd->nd", dpre, w_hs), torch.einsum("nhwk,nchw->kc", dpre, v),
            dpre.sum(dim=(0, 1, 2)), torch.einsum("nhwk,nd->kd", dpre, h), torch.einsum("nhw,nhwk->k", dscore, a))


def channel_attention_forward(v, h, w_c, b_c, w_hc, w_i):
    u = v.sum(dim=(2, 3)) / (v.shape[2] * v.shape[3])
    b = torch.tanh(torch.einsum("k,nc->nkc", w_c, u) + b_c[:, None] + (h @ w_hc.T)[..., None])
    beta = torch.softmax(torch.einsum("k,nkc->nc", w_i, b), dim=1)
    return v * beta[..., None, None], (v, h, w_c, b_c, w_hc, w_i)


def channel_attention_backward(dout, cache):
    v, h, w_c, b_c, w_hc, w_i = cache
    hw = v.shape[2] * v.shape[3]
    u = v.sum(dim=(2, 3)) / hw
    b = torch.tanh(torch.einsum("k,nc->nkc", w_c, u) + b_c[:, None] + (h @ w_hc.T)[..., None])
    beta = torch.softmax(torch.einsum("k,nkc->nc", w_i, b), dim=1)
    dbeta = torch.einsum("nchw,nchw->nc", dout, v)
    dscore = beta * dbeta - beta * (beta * dbeta).sum(1, keepdim=True)
    dpre = torch.einsum("nc,k,nkc->nkc", dscore, w_i, 1 - b * b)
    dv = dout * beta[..., None, None] + (torch.einsum("nkc,k->nc", dpre, w_c) / hw)[..., None, None]
    return (dv, dpre.sum(2) @ w_hc, torch.einsum("nkc,nc->k", dpre, u), dpre.sum(dim=(0, 2)),
            dpre.sum(2).T @ h, torch.einsum("nc,nkc->k", dscore, b))


def split_attention_forward(x, w1, b1, w2, b2, radix):
    c = x.shape[1] // radix
    splits = [x[:, r * c:(r + 1) * c] for r in range(radix)]
    s = sum(sp.mean(dim=(2, 3)) for sp in splits)
    z = torch.clamp(s @ w1.T + b1, min=0)
    logits = z @ w2.T + b2
    if radix == 1:
        a = [torch.sigmoid(logits)]
    else:
        a = list(torch.softmax(torch.stack([logits[:, r * c:(r + 1) * c] for r in range(radix)]), dim=0))
    out = sum(ar[..., None, None] * sp for ar, sp in zip(a, splits))
    return out, (x, w1, w2, s, z, a, radix)


def split_attention_backward(dout, cache):
    x, w1, w2, s, z, a, radix = cache
    c = x.shape[1] // radix
    hw = x.shape[2] * x.shape[3]
    da = [(dout * x[:, r * c:(r + 1) * c]).sum(dim=(2, 3)) for r in range(radix)]
    if radix == 1:
        dlog = [da[0] * a[0] * (1 - a[0])]
    else:
        dot = sum(dr * ar for dr, ar in zip(da, a))
        dlog = [ar * (dr - dot) for dr, ar in zip(da, a)]
    dlogits = torch.cat(dlog, dim=1)
    dz = (dlogits @ w2) * (z > 0)
    ds = dz @ w1
    dx = torch.cat([ar[..., None, None] * dout + ds[..., None, None] / hw for ar in a], dim=1)
    return dx, dz.T @ s, dz.sum(0), dlogits.T @ z, dlogits.sum(0)
