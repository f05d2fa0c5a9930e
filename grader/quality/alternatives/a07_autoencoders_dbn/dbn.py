"""Other correct ways to write a07's DBN: batches listed first, a recursive backward, softmax by exp and sum."""
import torch


def dbn_pretrain(x, layers, noise, lr, batch):
    n = x.shape[0]
    starts = list(range(0, n, batch))
    stack, errors, data = [], torch.zeros(len(layers), noise[0].shape[0], dtype=x.dtype), x
    for l, (W, b, c) in enumerate(layers):
        for e in range(noise[l].shape[0]):
            for s in starts:
                stop = min(s + batch, n)
                W, b, c, err = rbm_cd1(data[s:stop], W, b, c, noise[l][e, s:stop], lr)
                errors[l, e] += err * (stop - s) / n
        stack.append((W, b, c))
        data = torch.sigmoid(data @ W + c)
    return stack, errors


def dbn_unroll(layers, W_out, b_out):
    params = []
    for layer in layers:
        params.append((layer[0], layer[2]))
    params.append((W_out, b_out))
    return params


def dbn_forward(x, params):
    hs = []
    for W, b in params[:-1]:
        hs.append(torch.sigmoid(torch.addmm(b, hs[-1] if hs else x, W)))
    top = hs[-1] if hs else x
    return torch.addmm(params[-1][1], top, params[-1][0]), (x, params, hs)


def dbn_backward(dscores, cache):
    x, params, hs = cache

    def back(l, d):  # gradients of layers 0..l, given the gradient d of layer l's pre-activation
        below = x if l == 0 else hs[l - 1]
        grads = [(below.T @ d, d.sum(0))]
        if l == 0:
            return grads
        return back(l - 1, d @ params[l][0].T * below * (1 - below)) + grads

    return back(len(params) - 1, dscores)


def dbn_finetune_step(x, y, params, lr):
    scores, cache = dbn_forward(x, params)
    e = torch.exp(scores - scores.max(dim=1, keepdim=True).values)
    probs = e / e.sum(dim=1, keepdim=True)
    onehot = torch.zeros_like(probs)
    onehot[torch.arange(x.shape[0]), y] = 1.0
    loss = -(onehot * torch.log(probs)).sum() / x.shape[0]
    grads = dbn_backward((probs - onehot) / x.shape[0], cache)
    return loss, [(W - dW * lr, b - db * lr) for (W, b), (dW, db) in zip(params, grads)]
