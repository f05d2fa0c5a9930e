"""Alternative a13 readout, correct but written differently from the reference: a loop over the graphs with
boolean masks, and the max's gradient routed through argmax indices. The grader must give them full marks."""
import torch


def readout_forward(x, batch, num_graphs, mode="mean"):
    pooled = []
    for k in range(num_graphs):
        nodes = x[batch == k]
        pooled.append(nodes.sum(0) if mode == "sum" else nodes.mean(0) if mode == "mean" else nodes.max(0).values)
    return torch.stack(pooled), (x, batch, num_graphs, mode)


def readout_backward(dout, cache):
    x, batch, num_graphs, mode = cache
    dx = torch.zeros_like(x)
    for k in range(num_graphs):
        where = (batch == k).nonzero().view(-1)
        if mode == "sum":
            dx[where] = dout[k].expand(len(where), -1)
        elif mode == "mean":
            dx[where] = dout[k].expand(len(where), -1) / len(where)
        else:
            winners = where[x[where].argmax(0)]  # (F,) the node holding each feature's maximum
            dx[winners, torch.arange(x.shape[1], device=x.device)] = dout[k]
    return dx
