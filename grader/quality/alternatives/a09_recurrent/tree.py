"""Alternative a09 recursive-network functions, correct but written differently from the reference: one
node at a time in post-order (no grouping by height), the backward in reverse post-order with the
composition weight split into its left and right halves; the node loss through log-softmax. Full marks expected."""
import torch


def tree_forward(leaves, children, w, b):
    count, d = leaves.shape
    nodes = [leaves[j] for j in range(count)]
    for left, right in children.tolist():
        nodes.append(torch.tanh(w[:, :d] @ nodes[left] + w[:, d:] @ nodes[right] + b))
    out = torch.stack(nodes) if nodes else leaves.clone()
    return out, (out, children, w)


def tree_backward(dnodes, cache):
    nodes, children, w = cache
    count = nodes.shape[0] - children.shape[0]
    d = w.shape[0]
    grad = [dnodes[j].clone() for j in range(nodes.shape[0])]
    dw, db = torch.zeros_like(w), torch.zeros_like(w[:, 0])
    pairs = children.tolist()
    for k in range(len(pairs) - 1, -1, -1):
        left, right = pairs[k]
        p = nodes[count + k]
        da = grad[count + k] * (1.0 - p ** 2)
        dw[:, :d] += torch.outer(da, nodes[left])
        dw[:, d:] += torch.outer(da, nodes[right])
        db += da
        grad[left] = grad[left] + w[:, :d].t() @ da
        grad[right] = grad[right] + w[:, d:].t() @ da
    return torch.stack(grad[:count]), dw, db


def tree_node_loss(nodes, w, b, labels):
    scores = nodes @ w.t() + b
    logp = scores - torch.logsumexp(scores, dim=1, keepdim=True)
    count = nodes.shape[0]
    loss = -logp[torch.arange(count, device=labels.device), labels].mean()
    ds = torch.exp(logp)
    ds[torch.arange(count, device=labels.device), labels] -= 1.0
    ds = ds / count
    return loss, ds @ w, ds.t() @ nodes, ds.sum(0)
