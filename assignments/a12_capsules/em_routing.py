"""Matrix capsules with EM routing (Hinton, Sabour and Frosst 2018): each parent capsule is a Gaussian
fitted to its children's votes, and the children are reassigned to the parents that explain them.

Shapes: N examples, I child capsules with activations a_in, J parent capsules, votes V_ij of H
components (a 4 x 4 pose matrix flattened: H = 16), assignment probabilities R (N, I, J).
"""
from __future__ import annotations

import math

import torch

Tensor = torch.Tensor


def em_m_step(a_in: Tensor, r: Tensor, votes: Tensor, beta_u: Tensor, beta_a: Tensor,
              inverse_temperature: float) -> tuple[Tensor, Tensor, Tensor]:
    """The M-step (the paper's procedure 1, M-STEP): each parent's Gaussian, fitted to the votes
    weighted by R_ij a_i, then its cost and activation.

        R'_ij      = R_ij a_i
        mu_j^h     = sum_i R'_ij V_ij^h / sum_i R'_ij
        sigma_j^h2 = sum_i R'_ij (V_ij^h - mu_j^h)^2 / sum_i R'_ij
        cost_j^h   = (beta_u_j + log sigma_j^h) sum_i R'_ij
        a_j        = sigmoid(inverse_temperature * (beta_a_j - sum_h cost_j^h))

    a_in: (N, I) in (0, 1); r: (N, I, J); votes: (N, I, J, H); beta_u, beta_a: (J,).
    Returns (mu, sigma2, a_out) of shapes (N, J, H), (N, J, H) and (N, J).
    """
    # YOUR CODE HERE
    raise NotImplementedError("a12.em_m_step")
    return mu, sigma2, a_out


def em_e_step(mu: Tensor, sigma2: Tensor, a_out: Tensor, votes: Tensor) -> Tensor:
    """The E-step: each child's assignment to the parents, in proportion to a_j p_j(V_ij), with p_j the
    Gaussian of diagonal covariance sigma2_j:

        p_ij = prod_h exp(-(V_ij^h - mu_j^h)^2 / (2 sigma_j^h2)) / sqrt(2 pi sigma_j^h2)
        R_ij = a_j p_ij / sum_k a_k p_ik

    Votes can lie far from every parent, where each p_ij underflows to 0: work with logarithms.
    mu, sigma2: (N, J, H); a_out: (N, J) in (0, 1); votes: (N, I, J, H). Returns r: (N, I, J),
    summing to 1 over the parents j.
    """
    # YOUR CODE HERE
    raise NotImplementedError("a12.em_e_step")
    return r


def em_routing(a_in: Tensor, votes: Tensor, beta_u: Tensor, beta_a: Tensor, iterations: int = 3,
               inverse_temperature: float = 1.0) -> tuple[Tensor, Tensor, Tensor]:
    """EM routing: R starts uniform (1 / J), then ``iterations`` M-steps with an E-step between each
    two (the last M-step gives the parents). The inverse temperature is held fixed.

    a_in: (N, I); votes: (N, I, J, H); beta_u, beta_a: (J,).
    Returns (mu, sigma2, a_out) of the last M-step. Use em_m_step and em_e_step.
    """
    # YOUR CODE HERE
    raise NotImplementedError("a12.em_routing")
    return mu, sigma2, a_out
