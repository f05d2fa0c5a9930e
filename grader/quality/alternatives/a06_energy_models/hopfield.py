"""Other correct ways to write a06's Hopfield network: sums of outer products, einsum, loops over states."""
import torch


def hopfield_store(patterns):
    u = patterns.shape[1]
    w = torch.zeros(u, u, dtype=patterns.dtype, device=patterns.device)
    for xi in patterns:
        w = w + torch.outer(xi, xi)
    return w * (1 - torch.eye(u, dtype=patterns.dtype, device=patterns.device)) / u


def hopfield_energy(w, s, theta):
    return torch.einsum("ni,ij,nj->n", s, w, s) / -2 + (s * theta).sum(dim=1)


def hopfield_async(w, s, theta, order):
    rows = []
    for state in s:
        state = state.clone()
        for j in order.tolist():
            h = float(w[j] @ state - theta[j])
            if h != 0:
                state[j] = 1.0 if h > 0 else -1.0
        rows.append(state)
    return torch.stack(rows)


def hopfield_sync(w, s, theta):
    h = torch.einsum("ji,ni->nj", w, s) - theta
    return torch.sign(h) + (h == 0).to(s.dtype) * s


def hopfield_recall(w, s, theta, order, max_sweeps):
    states, counts = [], []
    for state in s:
        state, n = state[None], 0
        while n < max_sweeps:
            new = hopfield_async(w, state, theta, order)
            if torch.equal(new, state):
                break
            state, n = new, n + 1
        states.append(state[0])
        counts.append(n)
    return torch.stack(states), torch.tensor(counts, dtype=torch.int64, device=s.device)
