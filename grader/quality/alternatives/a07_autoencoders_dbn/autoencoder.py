"""Other correct ways to write a07's autoencoder: addmm, loops over examples, the cost written out in one piece."""
import torch


def ae_forward(x, W1, b1, W2, b2, hidden="sigmoid", output="linear"):
    h = activate(torch.addmm(b1, x, W1), hidden)
    xhat = activate(torch.addmm(b2, h, W2), output)
    return xhat, (x, W1, W2, h, xhat, hidden, output)


def ae_backward(dxhat, cache, dh=None):
    x, W1, W2, h, xhat, hidden, output = cache
    dW1, db1 = torch.zeros_like(W1), torch.zeros_like(W1[0])
    dW2, db2 = torch.zeros_like(W2), torch.zeros_like(W2[0])
    for i in range(x.shape[0]):  # one example at a time: outer products
        d2 = dxhat[i] * activation_grad(xhat[i], output)
        dW2 = dW2 + torch.outer(h[i], d2)
        db2 = db2 + d2
        back = W2 @ d2 if dh is None else W2 @ d2 + dh[i]
        d1 = back * activation_grad(h[i], hidden)
        dW1 = dW1 + torch.outer(x[i], d1)
        db1 = db1 + d1
    return dW1, db1, dW2, db2


def reconstruction_loss(xhat, x, W1, W2, lam):
    n = x.shape[0]
    loss = torch.einsum("nd,nd->", xhat - x, xhat - x) / (2 * n) + lam / 2 * (W1.pow(2).sum() + W2.pow(2).sum())
    return loss, (xhat - x) / n, W1 * lam, W2 * lam


def sparsity_penalty(h, rho, beta):
    n = h.shape[0]
    q = h.sum(dim=0) / n
    penalty = beta * (rho * (torch.log(torch.tensor(rho, dtype=h.dtype)) - torch.log(q))
                      + (1 - rho) * (torch.log(torch.tensor(1 - rho, dtype=h.dtype)) - torch.log1p(-q))).sum()
    dh = torch.empty_like(h)
    for i in range(n):
        dh[i] = beta / n * ((1 - rho) / (1 - q) - rho / q)
    return penalty, dh


def sparse_ae_loss(x, W1, b1, W2, b2, lam, rho, beta, output="sigmoid"):
    n = x.shape[0]
    a2 = torch.sigmoid(x @ W1 + b1)
    a3 = activate(a2 @ W2 + b2, output)
    rho_hat = a2.mean(0)
    kl = rho * torch.log(rho / rho_hat) + (1 - rho) * torch.log((1 - rho) / (1 - rho_hat))
    cost = ((a3 - x) ** 2).sum() / (2 * n) + lam / 2 * ((W1 ** 2).sum() + (W2 ** 2).sum()) + beta * kl.sum()
    delta3 = (a3 - x) * activation_grad(a3, output)  # UFLDL: per example, divided by m at the end
    sparsity = beta * (-rho / rho_hat + (1 - rho) / (1 - rho_hat))
    delta2 = (delta3 @ W2.T + sparsity) * a2 * (1 - a2)
    return cost, x.T @ delta2 / n + lam * W1, delta2.sum(0) / n, a2.T @ delta3 / n + lam * W2, delta3.sum(0) / n
