"""Other correct ways to write a08's self-organizing map: cdist, loops, the schedule written out."""
import torch


def gaussian_neighbourhood(grid, c, sigma):
    return torch.exp(-torch.cdist(grid[c], grid) ** 2 / (2 * sigma * sigma))


def som_update(x, w, grid, lr, sigma):
    c = winner(x[None, :], w)
    h = gaussian_neighbourhood(grid, c, sigma)[0]
    return torch.stack([w[j] + lr * h[j] * (x - w[j]) for j in range(w.shape[0])])


def som_train(x, w, grid, order, lr, sigma):
    steps = len(order)
    for t, n in enumerate(order.tolist()):
        frac = t / max(steps - 1, 1)
        w = som_update(x[n], w, grid, lr[0] * (lr[1] / lr[0]) ** frac, sigma[0] * (sigma[1] / sigma[0]) ** frac)
    return w


def quantization_error(x, w):
    return torch.cdist(x, w).min(dim=1).values.mean()


def topographic_error(x, w, grid):
    order = torch.cdist(x, w).argsort(dim=1)
    first, second = grid[order[:, 0]], grid[order[:, 1]]
    far = ((first - second) ** 2).sum(dim=1) > 2.0
    return far.sum().to(x.dtype) / x.shape[0]
