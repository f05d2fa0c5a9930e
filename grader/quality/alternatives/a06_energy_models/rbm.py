"""Other correct ways to write a06's RBM: torch.sigmoid, logaddexp, one Gibbs step per call, sums over the batch."""
import torch


def rbm_p_h_given_v(v, w, b):
    return torch.sigmoid(torch.addmm(b, v, w))


def rbm_p_v_given_h(h, w, a):
    return torch.sigmoid(torch.einsum("nj,ij->ni", h, w) + a)


def rbm_sample(p, noise):
    return torch.where(p > noise, torch.ones_like(p), torch.zeros_like(p))


def rbm_free_energy(v, w, a, b):
    return -(v * a).sum(dim=1) - torch.logaddexp(torch.zeros((), dtype=v.dtype, device=v.device), v @ w + b).sum(dim=1)


def gibbs_step(v, w, a, b, noise_h, noise_v):
    h = rbm_sample(rbm_p_h_given_v(v, w, b), noise_h)
    return rbm_sample(rbm_p_v_given_h(h, w, a), noise_v)


def rbm_cd_k(v0, w, a, b, noise_h, noise_v):
    vk = v0
    for nh, nv in zip(noise_h, noise_v):
        vk = gibbs_step(vk, w, a, b, nh, nv)
    ph0, phk = rbm_p_h_given_v(v0, w, b), rbm_p_h_given_v(vk, w, b)
    n = v0.shape[0]
    dw = sum(torch.outer(v0[i], ph0[i]) - torch.outer(vk[i], phk[i]) for i in range(n)) / n
    return dw, (v0 - vk).sum(dim=0) / n, (ph0 - phk).sum(dim=0) / n, vk


def rbm_pcd(v0, chains, w, a, b, noise_h, noise_v):
    for nh, nv in zip(noise_h, noise_v):
        chains = gibbs_step(chains, w, a, b, nh, nv)
    ph0, phc = rbm_p_h_given_v(v0, w, b), rbm_p_h_given_v(chains, w, b)
    dw = torch.einsum("ni,nj->ij", v0, ph0) / len(v0) - torch.einsum("mi,mj->ij", chains, phc) / len(chains)
    return dw, v0.mean(dim=0) - chains.mean(dim=0), ph0.mean(dim=0) - phc.mean(dim=0), chains
