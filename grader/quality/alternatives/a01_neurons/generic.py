"""Another correct way to write a01's generic network: every unit's net input, then one column."""
import torch


def generic_step(w, theta, s, transfer, activation, order=None):
    f_net, f_act = TRANSFERS[transfer], ACTIVATIONS[activation]
    if order is None:
        return f_act(f_net(s, w, theta), s)
    new = s.clone()
    for j in order:
        net = f_net(new, w, theta)[:, j:j + 1]
        new[:, j:j + 1] = f_act(net, new[:, j:j + 1])
    return new
