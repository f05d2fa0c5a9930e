"""A one-hidden-layer autoencoder and the sparse autoencoder of Ng's UFLDL notes, forward and backward by hand.

The encoder maps x (N, D) to the code h = f(x W1 + b1) (N, H); the decoder maps it back to
xhat = g(h W2 + b2) (N, D). The hidden activation f is "sigmoid", "tanh" or "linear" (a linear
autoencoder, which learns the principal subspace); the output g is "linear" (real-valued data)
or "sigmoid" (data in [0, 1], as UFLDL's patches). The cost is the squared error halved and
averaged over the batch, plus weight decay lam / 2 (||W1||^2 + ||W2||^2) on the weights (not the
biases), plus, for the sparse autoencoder, beta sum_j KL(rho || rho_hat_j), rho_hat_j being unit
j's mean activation over the batch. Every function returns new tensors and leaves its inputs unchanged.
"""
from __future__ import annotations

import torch

Tensor = torch.Tensor


def activate(z: Tensor, name: str) -> Tensor:
    """f(z) for ``name`` in "sigmoid", "tanh", "linear". Any shape."""
    if name == "sigmoid":
        return torch.sigmoid(z)
    if name == "tanh":
        return torch.tanh(z)
    if name == "linear":
        return z
    raise ValueError(f"unknown activation {name!r}")


def activation_grad(a: Tensor, name: str) -> Tensor:
    """f'(z) written with the activation's output a = f(z): a (1 - a), 1 - a^2 or 1."""
    if name == "sigmoid":
        return a * (1.0 - a)
    if name == "tanh":
        return 1.0 - a * a
    if name == "linear":
        return torch.ones_like(a)
    raise ValueError(f"unknown activation {name!r}")


def ae_forward(x: Tensor, W1: Tensor, b1: Tensor, W2: Tensor, b2: Tensor, hidden: str = "sigmoid",
               output: str = "linear") -> tuple[Tensor, tuple]:
    """Encode then decode: h = f(x W1 + b1), xhat = g(h W2 + b2), f = ``hidden``, g = ``output``.

    x: (N, D); W1: (D, H); b1: (H,); W2: (H, D); b2: (D,).
    Returns (xhat, cache): xhat (N, D); cache = (x, W1, W2, h, xhat, hidden, output), h (N, H) the code.
    """
    # YOUR CODE HERE
    raise NotImplementedError("a07.ae_forward")
    cache = (x, W1, W2, h, xhat, hidden, output)
    return xhat, cache


def ae_backward(dxhat: Tensor, cache: tuple, dh: Tensor | None = None) -> tuple[Tensor, Tensor, Tensor, Tensor]:
    """Backward pass of :func:`ae_forward` to the parameters.

    dxhat: (N, D), the gradient of the loss with respect to xhat. dh: None, or (N, H), a gradient
    the loss has directly with respect to the code h (a penalty on h, as the sparsity term), added to
    the one that reaches h through the decoder before f' is applied.
    Returns (dW1, db1, dW2, db2) of shapes (D, H), (H,), (H, D), (D,).
    """
    x, W1, W2, h, xhat, hidden, output = cache
    # YOUR CODE HERE
    raise NotImplementedError("a07.ae_backward")
    return dW1, db1, dW2, db2


def reconstruction_loss(xhat: Tensor, x: Tensor, W1: Tensor, W2: Tensor,
                        lam: float) -> tuple[Tensor, Tensor, Tensor, Tensor]:
    """Squared reconstruction error with weight decay:
    loss = sum((xhat - x)^2) / (2N) + lam / 2 (sum(W1^2) + sum(W2^2)).

    xhat, x: (N, D); W1: (D, H); W2: (H, D); lam >= 0.
    Returns (loss, dxhat, dW1, dW2): loss 0-d; dxhat (N, D); dW1, dW2 the weight decay's gradients.
    """
    # YOUR CODE HERE
    raise NotImplementedError("a07.reconstruction_loss")
    return loss, dxhat, dW1, dW2


def sparsity_penalty(h: Tensor, rho: float, beta: float) -> tuple[Tensor, Tensor]:
    """The sparsity penalty beta sum_j KL(rho || rho_hat_j) and its gradient with respect to h.

    KL(rho || q) = rho log(rho / q) + (1 - rho) log((1 - rho) / (1 - q)); rho_hat_j is the mean of
    unit j's activation over the batch. h: (N, H) sigmoid activations in (0, 1); 0 < rho < 1.
    Returns (penalty, dh): penalty 0-d; dh (N, H), every row beta (-rho / rho_hat + (1 - rho) / (1 - rho_hat)) / N.
    """
    # YOUR CODE HERE
    raise NotImplementedError("a07.sparsity_penalty")
    return penalty, dh


def sparse_ae_loss(x: Tensor, W1: Tensor, b1: Tensor, W2: Tensor, b2: Tensor, lam: float, rho: float,
                   beta: float, output: str = "sigmoid") -> tuple[Tensor, Tensor, Tensor, Tensor, Tensor]:
    """UFLDL's sparse autoencoder cost and its gradient: sigmoid hidden units, output ``output``,
    J = reconstruction error + weight decay + beta sum_j KL(rho || rho_hat_j).

    The sparsity term enters the hidden layer's delta as beta (-rho / rho_hat + (1 - rho) / (1 - rho_hat)) / N.
    Shapes as in :func:`ae_forward`. Returns (loss, dW1, db1, dW2, db2), loss 0-d.
    """
    # YOUR CODE HERE
    raise NotImplementedError("a07.sparse_ae_loss")
    return loss, dW1, db1, dW2, db2
