"""Other correct ways to write a01's threshold units: heaviside, other gate weights, slope-intercept form."""
import torch


def ltu_forward(x, w, theta):
    return torch.heaviside((x * w).sum(1) - theta, torch.ones((), dtype=x.dtype, device=x.device))


def gate_weights(name):
    w, theta = {"AND": ([2.0, 2.0], 3.0), "OR": ([2.0, 2.0], 1.0), "NOT": ([-2.0], -1.0),
                "NAND": ([-3.0, -3.0], -5.0)}[name]
    return torch.tensor(w, dtype=torch.float64), torch.tensor(theta, dtype=torch.float64)


def decision_boundary(w, theta, x1):
    return theta / w[1] - (w[0] / w[1]) * x1
