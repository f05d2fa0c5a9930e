"""What a05 (batch normalization and AlexNet) checks: inputs for each task, and how each task is run.

Batch-norm inputs have a mean and scale of their own per feature, far from 0 and 1; 1-D ones a
batch of at least two and N != D, so statistics over the wrong axis cannot have the right shape
(the spatial ones start with a batch of one: N * H * W values per channel); running statistics are
checked after several batches. Max-pool inputs are distinct values (no ties); pooling and
convolution cases mix overlapping windows, strides, padding, rectangular kernels and groups.
AlexNet is run in small architectures of the paper's form (same layer sequence and groups).
Every task also checks that its function leaves its inputs unchanged: the running statistics
report it as an output, the other tasks fail with a message naming the input.
"""
from __future__ import annotations

import torch

from grader.tasks.inputs import (batch_size, conv_out_shape, distinct_dims, distinct_values, network_out_shape,
                                 out_size, randint, randn, scalar, uniform, with_dout)
from grader.tasks.model import Suite, layer_pairs

SUITE = Suite("a05_batchnorm_alexnet")
F64 = torch.float64


def features(g: torch.Generator, *shape: int) -> torch.Tensor:
    """Values whose mean and scale differ from feature to feature (axis 1: D of (N, D), C of (N, C, H, W))
    and are far from 0 and 1, so statistics over the wrong axes cannot come out right."""
    per_feature = (shape[1],) + (1,) * (len(shape) - 2)
    scale = uniform(g, *per_feature, low=0.5, high=3.0)
    return randn(g, *shape) * scale + uniform(g, *per_feature, low=-4.0, high=4.0)


def bn_inputs(g: torch.Generator, case: int) -> dict:
    n = 2 if case == 0 else randint(g, 3, 7)
    d = randint(g, 2, 6)
    d = d + 1 if d == n else d  # N != D: an axis mix-up cannot have the right shape
    return {"x": features(g, n, d), "gamma": randn(g, d), "beta": randn(g, d),
            "eps": [1e-5, 1e-3, 1e-1][case % 3]}


def bn_stats_inputs(g: torch.Generator, case: int) -> dict:
    kw = bn_inputs(g, case)
    n, d = kw["x"].shape
    k = 1 + case % 3  # after 1, 2 or 3 batches
    return {"xs": [kw["x"]] + [features(g, n, d) for _ in range(k - 1)],
            "running_mean": randn(g, d), "running_var": uniform(g, d, low=0.5, high=2.0),
            "momentum": [0.1, 0.3, 0.05][case % 3]}


def bn_inference_inputs(g: torch.Generator, case: int) -> dict:
    kw = bn_inputs(g, case)
    d = kw["x"].shape[1]
    if case == 0:
        kw["x"] = kw["x"][:1]  # inference works on a single example
    kw["running_mean"] = randn(g, d, scale=2.0)
    kw["running_var"] = uniform(g, d, low=0.2, high=3.0)
    return kw


def spatial_inputs(g: torch.Generator, case: int) -> dict:
    n = batch_size(g, case, high=4)
    c, h, w = distinct_dims(g, 3, 2, 5)
    return {"x": features(g, n, c, h, w), "gamma": randn(g, c), "beta": randn(g, c),
            "eps": [1e-5, 1e-3, 1e-1][case % 3]}


def spatial_stats_inputs(g: torch.Generator, case: int) -> dict:
    kw = spatial_inputs(g, case)
    shape, c = tuple(kw["x"].shape), kw["x"].shape[1]
    k = 1 + case % 3
    return {"xs": [kw["x"]] + [features(g, *shape) for _ in range(k - 1)],
            "running_mean": randn(g, c), "running_var": uniform(g, c, low=0.5, high=2.0),
            "momentum": [0.1, 0.3, 0.05][case % 3]}


def spatial_inference_inputs(g: torch.Generator, case: int) -> dict:
    kw = spatial_inputs(g, case)
    c = kw["x"].shape[1]
    kw["running_mean"] = randn(g, c, scale=2.0)
    kw["running_var"] = uniform(g, c, low=0.2, high=3.0)
    return kw


def running_stats(name: str):
    """A run: the running statistics after every batch of ``xs`` in turn, each update fed the previous one's result."""
    def run(m, xs, running_mean, running_var, momentum):
        mean, var = running_mean, running_var
        for x in xs:
            result = getattr(m.batchnorm, name)(x, mean, var, momentum)
            if not isinstance(result, (tuple, list)) or len(result) != 2:
                raise TypeError(f"{name} must return (running_mean, running_var)")
            mean, var = result
        return {"running_mean": mean, "running_var": var}  # the inputs-unchanged check sees the inputs stay

    return run


BN_GRADS = dict(grads=("dx", "dgamma", "dbeta"), wrt=("x", "gamma", "beta"))

SUITE.call("batchnorm_forward", "batchnorm", bn_inputs)
SUITE.backward("batchnorm_backward", "batchnorm_forward", "batchnorm", with_dout(bn_inputs), **BN_GRADS)
SUITE.backward("batchnorm_backward_alt", "batchnorm_forward", "batchnorm", with_dout(bn_inputs), **BN_GRADS)
SUITE.composite("batchnorm_running_stats", "batchnorm", bn_stats_inputs, running_stats("batchnorm_running_stats"))
SUITE.call("batchnorm_inference", "batchnorm", bn_inference_inputs)
SUITE.call("spatial_batchnorm_forward", "batchnorm", spatial_inputs, calls=("batchnorm_forward",))
SUITE.backward("spatial_batchnorm_backward", "spatial_batchnorm_forward", "batchnorm", with_dout(spatial_inputs),
               **BN_GRADS, calls=("batchnorm_forward", "batchnorm_backward_alt"))
SUITE.composite("spatial_batchnorm_running_stats", "batchnorm", spatial_stats_inputs,
                running_stats("spatial_batchnorm_running_stats"), calls=("batchnorm_running_stats",))
SUITE.call("spatial_batchnorm_inference", "batchnorm", spatial_inference_inputs, calls=("batchnorm_inference",))


def lrn_inputs(g: torch.Generator, case: int) -> dict:
    n = batch_size(g, case, high=3)
    c, h, w = distinct_dims(g, 3, 2, 6)
    if case == 0:  # the paper's constants; large activations, so the normalization matters
        return {"x": randn(g, n, 8, h, w, scale=40.0), "k": 2.0, "n": 5, "alpha": 1e-4, "beta": 0.75}
    size = [3, 5, 7][case % 3]
    c = 2 if case == 1 else c  # fewer channels than the window: cut at both edges
    return {"x": randn(g, n, c, h, w, scale=2.0), "k": scalar(g, 1.0, 2.5), "n": size,
            "alpha": scalar(g, 0.02, 0.2), "beta": scalar(g, 0.5, 0.9)}


SUITE.call("lrn_forward", "layers", lrn_inputs)
SUITE.backward("lrn_backward", "lrn_forward", "layers", with_dout(lrn_inputs))


def dropout_inputs(g: torch.Generator, case: int) -> dict:
    n, d = batch_size(g, case), randint(g, 3, 9)
    shape = (n, d) if case % 2 == 0 else (n, 2, d, 3)
    p = [0.5, 0.2, 0.8, 0.5, 0.35, 0.6][case % 6]
    noise = torch.rand(*shape, generator=g, dtype=F64)
    noise.view(-1)[0] = p  # noise exactly p: the unit is kept (noise >= p)
    return {"x": randn(g, *shape), "p": p, "noise": noise, "train": case != 3}


SUITE.call("dropout_forward", "layers", dropout_inputs)
SUITE.backward("dropout_backward", "dropout_forward", "layers", with_dout(dropout_inputs))

POOLS = ((3, 2), (2, 2), (3, 1), (2, 1), (3, 2), (4, 3))  # (kernel, stride): AlexNet's overlapping 3/2 first


def pool_inputs(g: torch.Generator, case: int) -> dict:
    kernel, stride = POOLS[case % len(POOLS)]
    n, c = batch_size(g, case, high=3), randint(g, 1, 3)
    h, w = randint(g, kernel + 1, kernel + 6), randint(g, kernel, kernel + 6)
    return {"x": distinct_values(g, n, c, h, w, gap=0.01, jitter=0.004), "kernel": kernel, "stride": stride}


def pool_out_shape(kw: dict) -> tuple[int, ...]:
    n, c, h, w = kw["x"].shape
    return n, c, out_size(h, kw["kernel"], kw["stride"]), out_size(w, kw["kernel"], kw["stride"])


SUITE.call("max_pool_forward", "layers", pool_inputs)
SUITE.backward("max_pool_backward", "max_pool_forward", "layers", with_dout(pool_inputs, pool_out_shape))

CONVS = (  # (groups, kernel (kh, kw), stride, pad)
    (2, (3, 3), 1, 1), (1, (3, 2), 2, 1), (2, (5, 5), 1, 2), (3, (2, 3), 1, 0), (1, (4, 4), 4, 0), (2, (3, 1), 2, 2))


def conv_inputs(g: torch.Generator, case: int) -> dict:
    groups, (kh, kw), stride, pad = CONVS[case % len(CONVS)]
    n = batch_size(g, case, high=3)
    cg, fg = distinct_dims(g, 2, 1, 3)
    h, w = randint(g, kh + 2, kh + 6), randint(g, kw + 1, kw + 6)
    c, f = groups * cg, groups * fg
    return {"x": randn(g, n, c, h, w), "w": randn(g, f, cg, kh, kw, scale=0.5), "b": randn(g, f),
            "stride": stride, "pad": pad, "groups": groups}


SUITE.call("conv_forward", "layers", conv_inputs)
SUITE.backward("conv_backward", "conv_forward", "layers", with_dout(conv_inputs, conv_out_shape),
               grads=("dx", "dw", "db"), wrt=("x", "w", "b"))


def tiny_alexnet(g: torch.Generator, case: int) -> tuple[list[dict], tuple[int, int, int]]:
    """An architecture of AlexNet's form, small enough to grade quickly: the same layers, groups
    and pooling, fewer channels; conv1 is the paper's 11/4 on a 67 x 67 input, or 5/2 on 35 x 35."""
    k1, s1, size = (5, 2, 35) if case % 2 == 0 else (11, 4, 67)
    c1, c2, c3, c4, c5 = (2 * randint(g, 1, 3) for _ in range(5))
    hidden, classes = randint(g, 6, 12), randint(g, 3, 6)
    lrn = {"k": 2.0, "n": 3, "alpha": 0.05, "beta": 0.75}  # a large alpha, so a wrong LRN shows
    arch = [
        {"name": "conv1", "type": "conv", "filters": c1, "kernel": k1, "stride": s1, "pad": 0, "groups": 1},
        {"name": "relu1", "type": "relu"},
        {"name": "norm1", "type": "lrn", **lrn},
        {"name": "pool1", "type": "pool", "kernel": 3, "stride": 2},
        {"name": "conv2", "type": "conv", "filters": c2, "kernel": 5, "stride": 1, "pad": 2, "groups": 2},
        {"name": "relu2", "type": "relu"},
        {"name": "norm2", "type": "lrn", **lrn},
        {"name": "pool2", "type": "pool", "kernel": 3, "stride": 2},
        {"name": "conv3", "type": "conv", "filters": c3, "kernel": 3, "stride": 1, "pad": 1, "groups": 1},
        {"name": "relu3", "type": "relu"},
        {"name": "conv4", "type": "conv", "filters": c4, "kernel": 3, "stride": 1, "pad": 1, "groups": 2},
        {"name": "relu4", "type": "relu"},
        {"name": "conv5", "type": "conv", "filters": c5, "kernel": 3, "stride": 1, "pad": 1, "groups": 2},
        {"name": "relu5", "type": "relu"},
        {"name": "pool5", "type": "pool", "kernel": 3, "stride": 2},
        {"name": "flatten", "type": "flatten"},
        {"name": "fc6", "type": "fc", "units": hidden},
        {"name": "relu6", "type": "relu"},
        {"name": "drop6", "type": "dropout"},
        {"name": "fc7", "type": "fc", "units": hidden},
        {"name": "relu7", "type": "relu"},
        {"name": "drop7", "type": "dropout"},
        {"name": "fc8", "type": "fc", "units": classes},
    ]
    return arch, (3, size, size)


def alexnet_inputs(g: torch.Generator, case: int) -> dict:
    arch, (c, h, w) = tiny_alexnet(g, case)
    n = batch_size(g, case, high=3)
    params, noise, channels, side = [], [], c, None
    for spec in arch:  # shapes by hand, like alexnet.param_shapes (the suite may not import the reference)
        if spec["type"] == "conv":
            k, f = spec["kernel"], spec["filters"]
            fan_in = channels // spec["groups"] * k * k
            # Negative conv biases: a unit whose whole receptive field is zero outputs its bias, and
            # equal positive biases would tie in the next max pool; zeros tie harmlessly (ReLU drops them).
            params.append([randn(g, f, channels // spec["groups"], k, k, scale=(2.0 / fan_in) ** 0.5),
                           uniform(g, f, low=-0.2, high=-0.01)])
            channels = f
            h = (h + 2 * spec["pad"] - k) // spec["stride"] + 1
        elif spec["type"] == "pool":
            h = (h - spec["kernel"]) // spec["stride"] + 1
        elif spec["type"] == "flatten":
            side = channels * h * h
        elif spec["type"] == "fc":
            params.append([randn(g, side, spec["units"], scale=(2.0 / side) ** 0.5), randn(g, spec["units"], scale=0.1)])
            side = spec["units"]
        elif spec["type"] == "dropout":
            noise.append(torch.rand(n, side, generator=g, dtype=F64))
    return {"x": randn(g, n, c, w, w, scale=2.0), "params": params, "noise": noise, "arch": arch,
            "p": [0.5, 0.3][case % 2], "train": case != 2}


def alexnet_scores(m, x, params, noise, arch, p, train):
    scores, _ = m.alexnet.alexnet_forward(x, [tuple(pair) for pair in params], noise, arch, p, train)
    return scores


def alexnet_forward_run(m, **kw):
    return {"scores": alexnet_scores(m, **kw)}


def alexnet_backward_run(m, x, params, noise, arch, p, train, dout):
    _, cache = m.alexnet.alexnet_forward(x, [tuple(pair) for pair in params], noise, arch, p, train)
    return layer_pairs("alexnet_backward", m.alexnet.alexnet_backward(dout, cache), len(params))


LAYER_FORWARDS = ("conv_forward", "lrn_forward", "max_pool_forward", "dropout_forward")
LAYER_BACKWARDS = ("conv_backward", "lrn_backward", "max_pool_backward", "dropout_backward")
ALEXNET_GRADS = tuple(f"d{p}{i}" for i in range(1, 9) for p in ("W", "b"))  # five conv and three fc layers

SUITE.composite("alexnet_forward", "alexnet", alexnet_inputs, alexnet_forward_run, calls=LAYER_FORWARDS)
# No own-gradient diagnosis (``forward``): finite differences over every weight of even a small
# AlexNet cost more than the rest of the assignment's grading; the layer tasks in ``calls`` locate a fault.
SUITE.composite("alexnet_backward", "alexnet", with_dout(alexnet_inputs, network_out_shape), alexnet_backward_run,
                grads=ALEXNET_GRADS, calls=("alexnet_forward",) + LAYER_FORWARDS + LAYER_BACKWARDS)
