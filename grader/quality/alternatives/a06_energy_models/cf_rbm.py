"""Other correct ways to write a06's CF-RBM: loops over rated items, logsumexp, a loop over ratings when sampling."""
import torch


def cf_p_h_given_v(v, mask, w, b):
    rows = []
    for vn, mn in zip(v, mask):
        rated = mn.nonzero()[:, 0]
        x = b + torch.einsum("ik,ikf->f", vn[rated], w[rated])
        rows.append(torch.sigmoid(x))
    return torch.stack(rows)


def cf_p_v_given_h(h, w, a):
    x = torch.einsum("mkf,nf->nmk", w, h) + a
    return torch.exp(x - torch.logsumexp(x, dim=2, keepdim=True))


def cf_sample(p, noise):
    out = torch.zeros_like(p)
    left = torch.ones_like(noise, dtype=torch.bool)
    total = torch.zeros_like(noise)
    k = p.shape[2]
    for r in range(k):
        total = total + p[:, :, r]
        pick = left & (noise < total) if r < k - 1 else left
        out[:, :, r] = pick.to(p.dtype)
        left = left & ~pick
    return out


def cf_cd1(v0, mask, w, a, b, noise_h, noise_v):
    ph0 = cf_p_h_given_v(v0, mask, w, b)
    h0 = (noise_h < ph0).to(v0.dtype)
    v1 = cf_sample(cf_p_v_given_h(h0, w, a), noise_v)
    ph1 = cf_p_h_given_v(v1, mask, w, b)
    m = mask.to(v0.dtype)
    dw = torch.zeros_like(w)
    for n in range(v0.shape[0]):
        dw = dw + m[n][:, None, None] * (v0[n][:, :, None] * ph0[n] - v1[n][:, :, None] * ph1[n])
    n = v0.shape[0]
    return dw / n, torch.einsum("nm,nmk->mk", m, v0 - v1) / n, (ph0 - ph1).sum(dim=0) / n, v1


def cf_predict(v, mask, w, a, b):
    p = cf_p_v_given_h(cf_p_h_given_v(v, mask, w, b), w, a)
    return sum((k + 1) * p[:, :, k] for k in range(p.shape[2]))
