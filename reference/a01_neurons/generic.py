"""The generic artificial neural network of the notes, with pluggable parts.

Its parts: an environment that clamps some units (the inputs); processing units, each with an
activation state; weighted connections W[j, i] from unit i to unit j; a transfer function that
turns the states and weights into each unit's net input; an activation function that turns the
net input (and the unit's old state) into its new state; and a weight-changing method.

One step updates a set of units either together (synchronous) or one after another
(asynchronous). As a perceptron: the inputs are clamped units, one output unit with the
"weighted_sum" transfer and the "step" activation, the perceptron rule as learning. As a
Hopfield net: every unit is connected to every other, "sign" activation, asynchronous order,
Hebbian storage. Shapes: N states updated together, U units.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import torch

Tensor = torch.Tensor


def weighted_sum(s: Tensor, w: Tensor, theta: Tensor) -> Tensor:
    """net_j = sum_i W[j, i] s_i - theta_j. s: (N, U); w: (J, U); theta: (J,). Returns (N, J)."""
    return s @ w.T - theta


def distance(s: Tensor, w: Tensor, theta: Tensor) -> Tensor:
    """net_j = -||s - W[j]|| - theta_j: nearer weight vectors give larger net input (competitive units)."""
    return -torch.cdist(s, w) - theta


def step(net: Tensor, old: Tensor) -> Tensor:
    """Threshold activation: 1 where net >= 0, else 0."""
    return (net >= 0).to(net.dtype)


def sign(net: Tensor, old: Tensor) -> Tensor:
    """Bipolar threshold: +1 where net > 0, -1 where net < 0, the old state where net == 0."""
    return torch.where(net > 0, 1.0, torch.where(net < 0, -1.0, old)).to(net.dtype)


def identity(net: Tensor, old: Tensor) -> Tensor:
    """Linear activation (the LMS unit)."""
    return net


def sigmoid(net: Tensor, old: Tensor) -> Tensor:
    """Logistic activation (the generalised delta rule's unit)."""
    return torch.sigmoid(net)


TRANSFERS: dict[str, Callable[[Tensor, Tensor, Tensor], Tensor]] = {
    "weighted_sum": weighted_sum, "distance": distance}
ACTIVATIONS: dict[str, Callable[[Tensor, Tensor], Tensor]] = {
    "step": step, "sign": sign, "identity": identity, "sigmoid": sigmoid}


def generic_step(w: Tensor, theta: Tensor, s: Tensor, transfer: str, activation: str,
                 order: Tensor | None = None) -> Tensor:
    """One update of the generic network's units.

    w: (U, U) connection weights, W[j, i] from unit i to unit j; theta: (U,) thresholds;
    s: (N, U) activation states; transfer: a key of TRANSFERS; activation: a key of ACTIVATIONS.
    order None: synchronous, every unit gets activation(transfer(s, W, theta), s) from the old
    states at once. order (M,) int64: asynchronous, the units in order one after another, each
    from the latest states (transfer of W[j:j+1], theta[j:j+1]); the other units keep their
    states (clamped inputs). Returns the new states (N, U); s itself is left unchanged.
    """
    f_net, f_act = TRANSFERS[transfer], ACTIVATIONS[activation]
    ### BEGIN SOLUTION
    if order is None:
        return f_act(f_net(s, w, theta), s)  # (N, U)
    s = s.clone()
    for j in order.tolist():
        net = f_net(s, w[j:j + 1], theta[j:j + 1])  # (N, 1)
        s[:, j:j + 1] = f_act(net, s[:, j:j + 1])
    ### END SOLUTION
    return s


@dataclass
class GenericNetwork:
    """Units, weights and pluggable parts. ``learning(net, *data)`` returns new (w, theta)."""

    w: Tensor                 # (U, U)
    theta: Tensor             # (U,)
    transfer: str
    activation: str
    inputs: list[int]         # units clamped by the environment
    outputs: list[int]        # units read out
    order: Tensor | None      # update order; None for synchronous
    learning: Callable[..., tuple[Tensor, Tensor]] | None = None

    def update(self, s: Tensor) -> Tensor:
        """One step from the states s (N, U); returns the new states (N, U)."""
        return generic_step(self.w, self.theta, s, self.transfer, self.activation, self.order)

    def run(self, x: Tensor) -> Tensor:
        """Clamp x (N, len(inputs)) onto the input units (the others start at 0), update once,
        and read the output units: returns (N, len(outputs))."""
        s = torch.zeros(x.shape[0], self.w.shape[0], dtype=x.dtype, device=x.device)  # (N, U)
        s[:, self.inputs] = x
        return self.update(s)[:, self.outputs]

    def learn(self, *data: Tensor) -> None:
        self.w, self.theta = self.learning(self, *data)


def perceptron_learning(net: GenericNetwork, x: Tensor, t: Tensor, lr: float) -> tuple[Tensor, Tensor]:
    """One epoch of the perceptron rule on every output unit's incoming weights, example by example."""
    w, theta = net.w.clone(), net.theta.clone()
    inputs, outputs = torch.tensor(net.inputs), torch.tensor(net.outputs)
    for n in range(x.shape[0]):
        y = GenericNetwork(w, theta, net.transfer, net.activation, net.inputs, net.outputs,
                           net.order).run(x[n:n + 1])[0]  # (len(outputs),)
        err = t[n:n + 1] - y if t.dim() == 1 else t[n] - y
        w[outputs[:, None], inputs[None, :]] += lr * err[:, None] * x[n][None, :]
        theta[outputs] -= lr * err
    return w, theta


def hebbian_learning(net: GenericNetwork, patterns: Tensor) -> tuple[Tensor, Tensor]:
    """Hebbian storage of +1/-1 patterns (P, U): W = sum_p s_p s_p^T / U without self-connections."""
    w = patterns.T @ patterns / patterns.shape[1]
    w.fill_diagonal_(0.0)
    return w, torch.zeros_like(net.theta)


def perceptron_network(w: Tensor, theta: Tensor) -> GenericNetwork:
    """A perceptron with D inputs as a generic network: units 0..D-1 clamped, unit D the output."""
    d = w.shape[0]
    weights = torch.zeros(d + 1, d + 1, dtype=w.dtype, device=w.device)
    weights[d, :d] = w
    thetas = torch.zeros(d + 1, dtype=w.dtype, device=w.device)
    thetas[d] = theta
    return GenericNetwork(weights, thetas, "weighted_sum", "step", list(range(d)), [d],
                          torch.tensor([d]), perceptron_learning)


def hopfield_network(u: int, order: Tensor, dtype=torch.float64) -> GenericNetwork:
    """A Hopfield net of u units as a generic network: no clamped inputs, all units read out."""
    return GenericNetwork(torch.zeros(u, u, dtype=dtype), torch.zeros(u, dtype=dtype), "weighted_sum",
                          "sign", [], list(range(u)), order, hebbian_learning)
