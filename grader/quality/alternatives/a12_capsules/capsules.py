"""Other correct ways to write a12's capsule layers: squash as n / (1 + n^2) s with its explicit Jacobian,
PrimaryCaps by shifted slices per kernel offset (no im2col), predictions by batched matmul, routing
with loops over parents and the softmax's full Jacobian. The grader must give them full marks."""
import torch


def squash_forward(s):
    n = torch.linalg.vector_norm(s, dim=-1, keepdim=True)
    return s * (n / (1.0 + n * n)), (s,)


def squash_backward(dout, cache):
    (s,) = cache
    n = torch.linalg.vector_norm(s, dim=-1, keepdim=True)
    f = n / (1.0 + n * n)
    g = (1.0 - n * n) / ((1.0 + n * n) ** 2 * n)
    eye = torch.eye(s.shape[-1], dtype=s.dtype, device=s.device)
    jac = f[..., None] * eye + g[..., None] * s[..., :, None] * s[..., None, :]  # (..., D, D), symmetric
    return (jac @ dout[..., None])[..., 0]


def primary_caps_forward(x, w, b, caps_dim=8, stride=2):
    n, c, h, wd = x.shape
    f, _, k, _ = w.shape
    ho, wo = (h - k) // stride + 1, (wd - k) // stride + 1
    conv = b.view(1, f, 1, 1).expand(n, f, ho, wo).clone()
    for i in range(k):
        for j in range(k):
            patch = x[:, :, i:i + stride * (ho - 1) + 1:stride, j:j + stride * (wo - 1) + 1:stride]
            conv = conv + torch.einsum("nchw,fc->nfhw", patch, w[:, :, i, j])
    s = conv.reshape(n, f // caps_dim, caps_dim, ho, wo).permute(0, 1, 3, 4, 2).reshape(n, -1, caps_dim)
    u, sc = squash_forward(s)
    return u, (x, w, caps_dim, stride, ho, wo, sc)


def primary_caps_backward(dout, cache):
    x, w, caps_dim, stride, ho, wo, sc = cache
    n = x.shape[0]
    f, _, k, _ = w.shape
    ds = squash_backward(dout, sc)
    dconv = ds.reshape(n, f // caps_dim, ho, wo, caps_dim).permute(0, 1, 4, 2, 3).reshape(n, f, ho, wo)
    dx, dw = torch.zeros_like(x), torch.zeros_like(w)
    for i in range(k):
        for j in range(k):
            sl = (slice(None), slice(None), slice(i, i + stride * (ho - 1) + 1, stride),
                  slice(j, j + stride * (wo - 1) + 1, stride))
            dw[:, :, i, j] = torch.einsum("nfhw,nchw->fc", dconv, x[sl])
            dx[sl] += torch.einsum("nfhw,fc->nchw", dconv, w[:, :, i, j])
    return dx, dw, dconv.sum(dim=(0, 2, 3))


def predictions_forward(u, W):
    u_hat = (W.unsqueeze(0) @ u[:, :, None, :, None]).squeeze(-1)
    return u_hat, (u, W)


def predictions_backward(dout, cache):
    u, W = cache
    du = (dout.unsqueeze(-2) @ W.unsqueeze(0)).squeeze(-2).sum(dim=2)
    dW = (dout.unsqueeze(-1) * u[:, :, None, None, :]).sum(dim=0)
    return du, dW


def _softmax_parents(b):
    return torch.softmax(b, dim=2)


def routing_forward(u_hat, iterations=3):
    n, i, j, d = u_hat.shape
    b = u_hat.new_zeros(n, i, j)
    logits = []
    for r in range(iterations):
        logits.append(b)
        c = _softmax_parents(b)
        s = torch.stack([(c[:, :, p, None] * u_hat[:, :, p]).sum(dim=1) for p in range(j)], dim=1)
        v, _ = squash_forward(s)
        if r < iterations - 1:
            b = b + (u_hat * v[:, None]).sum(dim=-1)
    return v, (u_hat, logits)


def routing_backward(dout, cache):
    u_hat, logits = cache
    du_hat = torch.zeros_like(u_hat)
    grad_b = torch.zeros_like(logits[0])
    last = len(logits) - 1
    for r in range(last, -1, -1):
        c = _softmax_parents(logits[r])
        s = (c[..., None] * u_hat).sum(dim=1)
        v, sc = squash_forward(s)
        if r == last:
            dv = dout
        else:
            dv = (grad_b[..., None] * u_hat).sum(dim=1)
            du_hat = du_hat + grad_b[..., None] * v[:, None]
        ds = squash_backward(dv, sc)
        du_hat = du_hat + c[..., None] * ds[:, None]
        dc = (u_hat * ds[:, None]).sum(dim=-1)
        jac = torch.diag_embed(c) - c[..., :, None] * c[..., None, :]  # (N, I, J, J)
        grad_b = grad_b + (jac @ dc[..., None])[..., 0]
    return du_hat
