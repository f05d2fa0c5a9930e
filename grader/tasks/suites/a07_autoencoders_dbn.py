"""What a07 (autoencoders, sparse autoencoders, deep belief networks) checks: inputs for each task, and how it runs.

Shapes use distinct sizes (N, D, H, and each layer's width) so a wrong axis or a transposed weight
cannot pass; case 0 has a batch of one. Sparsity inputs keep every unit's mean activation inside
(0.05, 0.95), where the KL divergence is tame. CD's uniform noise stays at least ``MARGIN`` away
from the hidden probabilities it is compared with, so no sample hangs on a rounding error. The
fine-tuning step's case ``LARGE_CASE`` shifts the class scores by 1e3, which overflows a softmax
that does not subtract the max. Every task also checks that its function leaves its inputs unchanged.
"""
from __future__ import annotations

import torch

from grader.tasks.inputs import (LARGE, LARGE_CASE, batch_size, distinct_dims, network_out_shape, randint, randn,
                                 scalar, uniform, with_dout)
from grader.tasks.model import OutputShapeError, Suite, layer_pairs

SUITE = Suite("a07_autoencoders_dbn")
F64 = torch.float64
MARGIN = 1e-3
HIDDEN = ("sigmoid", "tanh", "linear")
OUTPUT = ("linear", "sigmoid")


# Autoencoder.

def ae_inputs(g: torch.Generator, case: int) -> dict:
    n = batch_size(g, case, high=7)
    d, h = distinct_dims(g, 2, 2, 7)
    return {"x": randn(g, n, d), "W1": randn(g, d, h, scale=0.7), "b1": randn(g, h, scale=0.5),
            "W2": randn(g, h, d, scale=0.7), "b2": randn(g, d, scale=0.5),
            "hidden": HIDDEN[case % 3], "output": OUTPUT[(case // 3 + case) % 2]}


def code_shape(kw: dict) -> tuple[int, ...]:
    return kw["x"].shape[0], kw["W1"].shape[1]  # (N, H)


def ae_backward_inputs(g: torch.Generator, case: int) -> dict:
    kw = with_dout(ae_inputs)(g, case)
    kw["dh"] = None if case % 2 == 0 else randn(g, *code_shape(kw))  # a direct gradient on the code in odd cases
    return kw


def ae_forward_out(m, x, W1, b1, W2, b2, hidden, output, dout=None, dh=None):
    """sum(xhat * dout) + sum(h * dh): the scalar whose gradient ae_backward returns."""
    xhat, cache = m.autoencoder.ae_forward(x, W1, b1, W2, b2, hidden, output)
    total = (xhat * dout).sum()
    return total if dh is None else total + (cache[3] * dh).sum()


def ae_backward_run(m, x, W1, b1, W2, b2, hidden, output, dout, dh):
    _, cache = m.autoencoder.ae_forward(x, W1, b1, W2, b2, hidden, output)
    result = m.autoencoder.ae_backward(dout, cache, dh)
    if not isinstance(result, (tuple, list)) or len(result) != 4:
        raise OutputShapeError("ae_backward must return (dW1, db1, dW2, db2)")
    return dict(zip(("dW1", "db1", "dW2", "db2"), result))


def recon_inputs(g: torch.Generator, case: int) -> dict:
    n = batch_size(g, case, high=7)
    d, h = distinct_dims(g, 2, 2, 7)
    return {"xhat": randn(g, n, d), "x": randn(g, n, d), "W1": randn(g, d, h), "W2": randn(g, h, d),
            "lam": 0.0 if case == 1 else scalar(g, 1e-3, 0.5)}


def recon_run(m, **kw):
    result = m.autoencoder.reconstruction_loss(**kw)
    if not isinstance(result, (tuple, list)) or len(result) != 4:
        raise OutputShapeError("reconstruction_loss must return (loss, dxhat, dW1, dW2)")
    return dict(zip(("loss", "dxhat", "dW1", "dW2"), result))


def sparsity_inputs(g: torch.Generator, case: int) -> dict:
    n = batch_size(g, case, high=8)
    h = randint(g, 2, 7)
    h = h + 1 if h == n else h
    return {"h": uniform(g, n, h, low=0.05, high=0.95), "rho": [0.05, 0.1, 0.3, 0.02][case % 4],
            "beta": scalar(g, 0.5, 4.0)}


def sparse_ae_inputs(g: torch.Generator, case: int) -> dict:
    kw = ae_inputs(g, case)
    del kw["hidden"]
    kw["x"] = uniform(g, *kw["x"].shape, low=0.1, high=0.9)  # UFLDL's patches lie in [0.1, 0.9]
    kw["W1"] = kw["W1"] * 0.5  # mean activations stay inside (0.05, 0.95)
    kw.update(lam=scalar(g, 1e-3, 0.1), rho=[0.05, 0.1, 0.3][case % 3], beta=scalar(g, 0.5, 4.0))
    return kw


def sparse_ae_run(m, **kw):
    result = m.autoencoder.sparse_ae_loss(**kw)
    if not isinstance(result, (tuple, list)) or len(result) != 5:
        raise OutputShapeError("sparse_ae_loss must return (loss, dW1, db1, dW2, db2)")
    return dict(zip(("loss", "dW1", "db1", "dW2", "db2"), result))


def sparse_ae_cost(m, **kw):
    return m.autoencoder.sparse_ae_loss(**kw)[0]


def recon_cost(m, **kw):
    return m.autoencoder.reconstruction_loss(**kw)[0]


AE_GRADS = {"dW1": "W1", "db1": "b1", "dW2": "W2", "db2": "b2"}

SUITE.call("ae_forward", "autoencoder", ae_inputs, ("xhat",))
SUITE.composite("ae_backward", "autoencoder", ae_backward_inputs, ae_backward_run, wrt=AE_GRADS,
                forward=ae_forward_out, calls=("ae_forward",))
SUITE.composite("reconstruction_loss", "autoencoder", recon_inputs, recon_run,
                wrt={"dxhat": "xhat", "dW1": "W1", "dW2": "W2"}, forward=recon_cost)
SUITE.loss("sparsity_penalty", "autoencoder", sparsity_inputs, wrt="h")
SUITE.composite("sparse_ae_loss", "autoencoder", sparse_ae_inputs, sparse_ae_run, wrt=AE_GRADS,
                forward=sparse_ae_cost,
                calls=("ae_forward", "ae_backward", "reconstruction_loss", "sparsity_penalty"))


# Restricted Boltzmann machines and deep belief networks.

def visible(g: torch.Generator, case: int, n: int, d: int) -> torch.Tensor:
    """Binary data in even cases, probabilities (a lower layer's output) in odd ones."""
    if case % 2 == 0:
        return torch.randint(0, 2, (n, d), generator=g).to(F64)
    return uniform(g, n, d, low=0.0, high=1.0)


def clear_noise(g: torch.Generator, p: torch.Tensor) -> torch.Tensor:
    """Uniform noise no closer than MARGIN to the probabilities p it is compared with."""
    noise = uniform(g, *p.shape, low=0.0, high=1.0)
    close = (noise - p).abs() < MARGIN
    return torch.where(close, torch.where(p > 0.5, p - 2 * MARGIN, p + 2 * MARGIN), noise)


def cd_inputs(g: torch.Generator, case: int) -> dict:
    n = batch_size(g, case, high=8)
    d, h = distinct_dims(g, 2, 2, 7)
    v = visible(g, case, n, d)
    W, b, c = randn(g, d, h), randn(g, d, scale=0.5), randn(g, h, scale=0.5)
    noise = clear_noise(g, torch.sigmoid(v @ W + c))
    return {"v": v, "W": W, "b": b, "c": c, "noise": noise, "lr": scalar(g, 0.05, 1.0)}


def layer_triples(function: str, stack, layers: int) -> dict:
    """``[(W1, b1, c1), ...]`` as outputs W1, b1, c1, W2, ..., after checking there is one triple per layer."""
    if not isinstance(stack, (list, tuple)) or len(stack) != layers:
        raise OutputShapeError(f"{function} must return one (W, b, c) triple per layer ({layers})")
    outputs = {}
    for i, triple in enumerate(stack, start=1):
        if not isinstance(triple, (list, tuple)) or len(triple) != 3:
            raise OutputShapeError(f"{function}: layer {i} must give a (W, b, c) triple")
        outputs[f"W{i}"], outputs[f"b{i}"], outputs[f"c{i}"] = triple
    return outputs


def stack_inputs(g: torch.Generator, case: int) -> tuple[torch.Tensor, list]:
    """Data x (N, D0) and 1..3 RBM layers of distinct widths."""
    depth = 1 + case % 3
    sizes = distinct_dims(g, depth + 1, 2, 6)
    n = batch_size(g, case, high=9)
    x = visible(g, case, n, sizes[0])
    layers = [[randn(g, a, b, scale=0.5), randn(g, a, scale=0.3), randn(g, b, scale=0.3)]
              for a, b in zip(sizes[:-1], sizes[1:])]
    return x, layers


def pretrain_inputs(g: torch.Generator, case: int) -> dict:
    x, layers = stack_inputs(g, case)
    n, epochs = x.shape[0], [1, 2, 3, 2, 3, 1][case % 6]
    batch = n if case % 4 == 1 or n == 1 else randint(g, 1, n - 1)  # often a smaller last batch
    noise = [uniform(g, epochs, n, W.shape[1], low=0.0, high=1.0) for W, _, _ in layers]
    return {"x": x, "layers": layers, "noise": noise, "lr": scalar(g, 0.1, 1.0), "batch": batch}


def pretrain_run(m, x, layers, noise, lr, batch):
    result = m.dbn.dbn_pretrain(x, [tuple(t) for t in layers], noise, lr, batch)
    if not isinstance(result, (tuple, list)) or len(result) != 2:
        raise OutputShapeError("dbn_pretrain must return (layers, errors)")
    stack, errors = result
    return {**layer_triples("dbn_pretrain", stack, len(layers)), "errors": errors}


def unroll_inputs(g: torch.Generator, case: int) -> dict:
    _, layers = stack_inputs(g, case)
    k = randint(g, 2, 5)
    top = layers[-1][0].shape[1]
    k = k + 1 if k == top else k
    return {"layers": layers, "W_out": randn(g, top, k), "b_out": randn(g, k)}


def unroll_run(m, layers, W_out, b_out):
    params = m.dbn.dbn_unroll([tuple(t) for t in layers], W_out, b_out)
    return layer_pairs("dbn_unroll", params, len(layers) + 1, ("W", "b"))


def mlp_inputs(g: torch.Generator, case: int) -> dict:
    kw = unroll_inputs(g, case)
    params = [[W, c] for W, _, c in kw["layers"]] + [[kw["W_out"], kw["b_out"]]]
    n = batch_size(g, case)
    return {"x": randn(g, n, params[0][0].shape[0]), "params": params}


def finetune_inputs(g: torch.Generator, case: int) -> dict:
    kw = mlp_inputs(g, case)
    k = kw["params"][-1][0].shape[1]
    if case == LARGE_CASE:
        kw["params"][-1][1] = kw["params"][-1][1] + LARGE  # scores near 1e3: exp overflows without the max
    return {**kw, "y": torch.randint(0, k, (kw["x"].shape[0],), generator=g), "lr": scalar(g, 0.05, 1.0)}


def dbn_scores(m, x, params, dout=None):
    scores, _ = m.dbn.dbn_forward(x, [tuple(p) for p in params])
    return scores


def dbn_forward_run(m, **kw):
    return {"scores": dbn_scores(m, **kw)}


def dbn_backward_run(m, x, params, dout):
    _, cache = m.dbn.dbn_forward(x, [tuple(p) for p in params])
    return layer_pairs("dbn_backward", m.dbn.dbn_backward(dout, cache), len(params))


def finetune_run(m, x, y, params, lr):
    result = m.dbn.dbn_finetune_step(x, y, [tuple(p) for p in params], lr)
    if not isinstance(result, (tuple, list)) or len(result) != 2:
        raise OutputShapeError("dbn_finetune_step must return (loss, new_params)")
    loss, new = result
    return {"loss": loss, **layer_pairs("dbn_finetune_step", new, len(params), ("W", "b"))}


# dW1, db1, ... for up to four layers (a case has two to four), each the gradient of its params entry.
DBN_WRT = {f"d{p}{i}": f"params.{i - 1}.{j}" for i in range(1, 5) for j, p in enumerate("Wb")}

SUITE.call("rbm_cd1", "rbm", cd_inputs, ("W", "b", "c", "error"))
SUITE.composite("dbn_pretrain", "dbn", pretrain_inputs, pretrain_run, calls=("rbm_cd1",))
SUITE.composite("dbn_unroll", "dbn", unroll_inputs, unroll_run)
SUITE.composite("dbn_forward", "dbn", mlp_inputs, dbn_forward_run)
SUITE.composite("dbn_backward", "dbn", with_dout(mlp_inputs, network_out_shape), dbn_backward_run,
                wrt=DBN_WRT, forward=dbn_scores, upstream="dout", calls=("dbn_forward",))
SUITE.composite("dbn_finetune_step", "dbn", finetune_inputs, finetune_run, calls=("dbn_forward", "dbn_backward"))
