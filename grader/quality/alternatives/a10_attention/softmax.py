"""Alternative a10 softmax, correct but written differently: through logsumexp, and a backward that
forms each row's Jacobian diag(p) - p p^T. The grader must give it full marks."""
import torch


def masked_softmax_forward(x, mask=None, dim=-1):
    if mask is not None:
        x = torch.where(mask, x, torch.full_like(x, float("-inf")))
    p = torch.exp(x - torch.logsumexp(x, dim=dim, keepdim=True))
    return p, (p, dim)


def masked_softmax_backward(dp, cache):
    p, dim = cache
    pm = p.movedim(dim, -1)  # (..., K)
    dpm = dp.movedim(dim, -1)
    jac = torch.diag_embed(pm) - pm[..., :, None] * pm[..., None, :]  # (..., K, K), symmetric
    dx = (jac @ dpm[..., None])[..., 0]
    return dx.movedim(-1, dim)
