"""Other correct ways to write a08's inhibitory networks: matrix forms, loops, argmax of the scores."""
import torch


def maxnet_step(y, eps):
    m = y.shape[1]
    inhibit = torch.full((m, m), -eps, dtype=y.dtype, device=y.device) + (1 + eps) * torch.eye(m, dtype=y.dtype, device=y.device)
    return torch.relu(y @ inhibit)


def maxnet(y, eps, max_steps=10_000):
    rows, steps = [], []
    for row in y:
        row, t = row[None, :], 0
        while int((row > 0).sum()) > 1 and t < max_steps:
            row, t = maxnet_step(row, eps), t + 1
        rows.append(row[0])
        steps.append(t)
    return torch.stack(rows), torch.tensor(steps, dtype=torch.int64, device=y.device)


def hamming_net(x, prototypes, eps):
    mismatches = (x[:, None, :] != prototypes[None, :, :]).sum(dim=2).to(x.dtype)
    scores = x.shape[1] - mismatches
    return scores, scores.argmax(dim=1)


def shunting_step(x, inputs, A, B, dt):
    total = inputs.sum(dim=1, keepdim=True)
    return x + dt * (-A * x + B * inputs - x * total)


def shunting_equilibrium(inputs, A, B):
    return B * inputs / (A + inputs.sum(dim=1, keepdim=True))
