"""Other correct ways to write a12's EM routing: the variance as E[V^2] - mu^2, log p by logsumexp,
a loop over parents, and routing that ends on its M-step by a while loop."""
import math

import torch


def em_m_step(a_in, r, votes, beta_u, beta_a, inverse_temperature):
    n, i, j, h = votes.shape
    mus, vars_, costs = [], [], []
    for p in range(j):
        w = r[:, :, p] * a_in  # (N, I)
        total = w.sum(dim=1, keepdim=True)
        mu = (w[..., None] * votes[:, :, p]).sum(dim=1) / total
        second = (w[..., None] * votes[:, :, p] ** 2).sum(dim=1) / total
        var = second - mu * mu
        mus.append(mu)
        vars_.append(var)
        costs.append(((beta_u[p] + torch.log(var.sqrt())) * total).sum(dim=1))
    mu, var, cost = torch.stack(mus, 1), torch.stack(vars_, 1), torch.stack(costs, 1)
    a_out = 1.0 / (1.0 + torch.exp(-inverse_temperature * (beta_a - cost)))
    return mu, var, a_out


def em_e_step(mu, sigma2, a_out, votes):
    z = (votes - mu[:, None]) / sigma2[:, None].sqrt()
    log_p = -0.5 * (z * z).sum(-1) - 0.5 * torch.log(sigma2).sum(-1)[:, None] - 0.5 * votes.shape[-1] * math.log(2 * math.pi)
    logits = log_p + torch.log(a_out)[:, None]
    return torch.exp(logits - torch.logsumexp(logits, dim=2, keepdim=True))


def em_routing(a_in, votes, beta_u, beta_a, iterations=3, inverse_temperature=1.0):
    r = torch.ones(votes.shape[:3], dtype=votes.dtype, device=votes.device) / votes.shape[2]
    done = 0
    while True:
        mu, sigma2, a_out = em_m_step(a_in, r, votes, beta_u, beta_a, inverse_temperature)
        done += 1
        if done == iterations:
            return mu, sigma2, a_out
        r = em_e_step(mu, sigma2, a_out, votes)
