"""Other correct ways to write a08's competitive learning: cdist, masks, explicit loops."""
import torch


def winner(x, w):
    return torch.cdist(x, w).argmin(dim=1)


def competitive_update(x, w, lr):
    c = winner(x[None, :], w)[0]
    is_winner = (torch.arange(w.shape[0], device=w.device) == c)[:, None]  # (K, 1)
    return torch.where(is_winner, (1 - lr) * w + lr * x[None, :], w)


def competitive_epoch(x, w, counts, lr=None):
    counts = counts.clone()
    for xn in x:
        c = int(winner(xn[None, :], w)[0])
        counts[c] = counts[c] + 1
        w = competitive_update(xn, w, 1.0 / int(counts[c]) if lr is None else lr)
    return w, counts


def leaky_competitive_update(x, w, lr_win, lr_lose):
    c = int(winner(x[None, :], w)[0])
    rows = [w[j] + (lr_win if j == c else lr_lose) * (x - w[j]) for j in range(w.shape[0])]
    return torch.stack(rows)
