"""Hostile submissions: a task's work done by what its bans forbid, spelled every way a student might.

Each variant is source spliced into a fresh solutions copy of its assignment (a top-level
``def`` replaces the function of that name in ``file``; other top-level statements are
appended, so they run at import). Graded with the course's bans taken away, every variant
scores full marks on its task: it is a real attack. Graded with the course's bans, through
the CLI, at every isolation level the machine gives, it must score zero on that task and cost
no other task anything. Classes, as the threat model names them:

- ``autograd``: the gradient computed by autograd, however it is reached;
- ``reexport``: a banned module or function reached through a module that re-exports it, a
  private module, or an alias (module-level, local, default argument, walrus, class attribute);
- ``operation``: the banned operation under another spelling (in-place, method, another namespace).

The other classes (a late time the student wrote, a folder name a spreadsheet runs, an edited
student workflow) are graded through ``grader batch`` and ``grader export`` in
tests/grader/batch/test_trusted_times_and_export.py and on an exported student repository in
tests/grader/authoring/test_student_repo.py.
"""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Variant:
    kind: str        # autograd | reexport | operation
    assignment: str
    task: str        # the task it attacks
    file: str        # the file of the assignment the code is spliced into
    code: str


A02, A10, A11 = "a02_mlp_backprop", "a10_attention", "a11_transformer"


def _a02(kind: str, task: str, code: str, file: str = "layers.py") -> Variant:
    return Variant(kind, A02, f"a02.{task}", file, code)


# Bodies that recompute a forward on fresh leaves, for the autograd variants.
_AFFINE_LEAVES = """
    x, w, b = cache
    x, w, b = x.detach().clone(), w.detach().clone(), b.detach().clone()
"""

VARIANTS: dict[str, Variant] = {
    # autograd: the graph's own nodes, grad mode switched on, autograd's functions by any path
    "grad_fn_walk": _a02("autograd", "affine_backward", f'''
def affine_backward(dout, cache):{_AFFINE_LEAVES}
    with torch.enable_grad():
        x.requires_grad_(); w.requires_grad_(); b.requires_grad_()
        out = x @ w + b
    dmm, dbb = out.grad_fn(dout)
    mm = out.grad_fn.next_functions[0][0]
    dx, dw = mm(dmm)
    return dx, dw, dbb.sum(0) if dbb.dim() == 2 else dbb
'''),
    "set_grad_enabled_backward": _a02("autograd", "tanh_backward", '''
def tanh_backward(dout, cache):
    x = torch.atanh(cache.detach().clone())
    with torch.set_grad_enabled(True):
        x.requires_grad_()
        (torch.tanh(x) * dout).sum().backward()
    return x.grad
'''),
    "requires_grad_setter": _a02("autograd", "softplus_backward", '''
def softplus_backward(dout, cache):
    x = cache.detach().clone()
    x.requires_grad = True
    with torch.enable_grad():
        y = torch.clamp(x, min=0.0) + torch.log1p(torch.exp(-x.abs()))
        y.backward(dout)
    return x.grad
'''),
    "autograd_function": _a02("autograd", "leaky_relu_backward", '''
def leaky_relu_backward(dout, cache):
    x, slope = cache
    x = x.detach().clone().requires_grad_()
    with torch.enable_grad():
        y = torch.where(x > 0, x, slope * x)
    (dx,) = torch.autograd.grad(y, (x,), dout)
    return dx
'''),
    "func_grad": _a02("autograd", "mse_loss", '''
def mse_loss(pred, target):
    import torch.func

    def loss(p):
        d = p - target
        return 0.5 * (d * d).sum() / p.shape[0]
    return loss(pred), torch.func.grad(loss)(pred)
'''),
    "func_vjp_reexport": _a02("autograd", "softmax_cross_entropy", '''
def softmax_cross_entropy(scores, y):
    n = scores.shape[0]

    def loss(s):
        shifted = s - s.amax(dim=1, keepdim=True)
        lp = shifted - torch.logsumexp(shifted, dim=1, keepdim=True)
        return -lp[torch.arange(n), y].mean()
    value, pull = torch.nn.init.torch.func.vjp(loss, scores)
    (dscores,) = pull(torch.ones_like(value))
    return value, dscores
'''),
    "reexported_autograd_grad": _a02("autograd", "leaky_relu_backward", '''
def leaky_relu_backward(dout, cache):
    x, slope = cache
    x = x.detach().clone().requires_grad_()
    with torch.nn.init.torch.enable_grad():
        y = torch.where(x > 0, x, slope * x)
    return torch.nn.init.torch.autograd.grad(y, x, dout)[0]
'''),
    "getattr_literal_chain": _a02("autograd", "softplus_backward", '''
def softplus_backward(dout, cache):
    x = cache.detach().clone().requires_grad_()
    with getattr(torch, "enable_grad")():
        y = torch.clamp(x, min=0.0) + torch.log1p(torch.exp(-x.abs()))
    return getattr(getattr(torch, "autograd"), "grad")(y, x, dout)[0]
'''),
    "disable_torch_function_then_grad": _a02("autograd", "affine_backward", f'''
def affine_backward(dout, cache):{_AFFINE_LEAVES}
    with torch.nn.init.torch._C.DisableTorchFunction():
        with torch.enable_grad():
            x.requires_grad_(); w.requires_grad_(); b.requires_grad_()
            out = x @ w + b
        return torch.autograd.grad(out, (x, w, b), dout)
'''),
    "inference_mode_escape": _a02("autograd", "leaky_relu_backward", '''
def leaky_relu_backward(dout, cache):
    x, slope = cache
    with torch.inference_mode(False), torch.enable_grad():
        x = x.clone().requires_grad_()
        y = torch.where(x > 0, x, slope * x)
        y.backward(dout.clone())
    return x.grad
'''),
    "backward_method_on_value": _a02("autograd", "mse_loss", '''
def mse_loss(pred, target):
    p = pred.detach().clone()
    p.requires_grad_(True)
    with torch.enable_grad():
        d = p - target
        loss = 0.5 * (d * d).sum() / p.shape[0]
        loss.backward()
    return loss.detach(), p.grad
'''),
    "local_module_alias_autograd": _a02("autograd", "softmax_cross_entropy", '''
def softmax_cross_entropy(scores, y):
    T = torch
    ag = T.autograd
    n = scores.shape[0]
    s = scores.detach().clone().requires_grad_()
    with T.enable_grad():
        shifted = s - s.amax(dim=1, keepdim=True)
        lp = shifted - T.logsumexp(shifted, dim=1, keepdim=True)
        loss = -lp[T.arange(n), y].mean()
    return loss.detach(), ag.grad(loss, s)[0]
'''),
    "vars_lookup": _a02("autograd", "softplus_backward", '''
def softplus_backward(dout, cache):
    x = cache.detach().clone().requires_grad_()
    with vars(torch)["enable_grad"]():
        y = torch.clamp(x, min=0.0) + torch.log1p(torch.exp(-x.abs()))
    return vars(torch)["autograd"].grad(y, x, dout)[0]
'''),
    "dunder_import": _a02("autograd", "softplus_backward", '''
def softplus_backward(dout, cache):
    ag = __import__("torch.autograd").autograd
    x = cache.detach().clone().requires_grad_()
    with torch.enable_grad():
        y = torch.clamp(x, min=0.0) + torch.log1p(torch.exp(-x.abs()))
    return ag.grad(y, x, dout)[0]
'''),
    "importlib_import": _a02("autograd", "affine_backward", f'''
def affine_backward(dout, cache):
    import importlib
    ag = importlib.import_module("torch.autograd"){_AFFINE_LEAVES}
    with torch.enable_grad():
        x.requires_grad_(); w.requires_grad_(); b.requires_grad_()
        out = x @ w + b
    return ag.grad(out, (x, w, b), dout)
'''),
    "attrgetter_lookup": _a02("autograd", "leaky_relu_backward", '''
def leaky_relu_backward(dout, cache):
    import operator
    x, slope = cache
    x = x.detach().clone().requires_grad_()
    with operator.attrgetter("enable_grad")(torch)():
        y = torch.where(x > 0, x, slope * x)
    return operator.attrgetter("autograd.grad")(torch)(y, x, dout)[0]
'''),
    "unbound_backward": _a02("autograd", "mse_loss", '''
def mse_loss(pred, target):
    p = pred.detach().clone().requires_grad_()
    with torch.enable_grad():
        d = p - target
        loss = 0.5 * (d * d).sum() / p.shape[0]
    torch.Tensor.backward(loss)
    return loss.detach(), p.grad
'''),
    "module_level_grad_alias": _a02("autograd", "softmax_cross_entropy", '''
_grad = torch.autograd.grad
_on = torch.enable_grad


def softmax_cross_entropy(scores, y):
    n = scores.shape[0]
    s = scores.detach().clone().requires_grad_()
    with _on():
        shifted = s - s.amax(dim=1, keepdim=True)
        lp = shifted - torch.logsumexp(shifted, dim=1, keepdim=True)
        loss = -lp[torch.arange(n), y].mean()
    return loss.detach(), _grad(loss, s)[0]
'''),
    "tuple_unpacked_alias": _a02("autograd", "affine_backward", f'''
def affine_backward(dout, cache):
    (A, E) = (torch.autograd, torch.enable_grad){_AFFINE_LEAVES}
    with E():
        x.requires_grad_(); w.requires_grad_(); b.requires_grad_()
        out = x @ w + b
    return A.grad(out, (x, w, b), dout)
'''),
    "walrus_alias": _a02("autograd", "tanh_backward", '''
def tanh_backward(dout, cache):
    x = torch.atanh(cache.detach().clone()).requires_grad_()
    with (on := torch.enable_grad)():
        y = torch.tanh(x)
    return (g := torch.autograd.grad)(y, x, dout)[0]
'''),
    "class_attribute_alias": _a02("autograd", "softplus_backward", '''
class _Tools:
    grad = staticmethod(torch.autograd.grad)
    on = torch.enable_grad


def softplus_backward(dout, cache):
    x = cache.detach().clone().requires_grad_()
    with _Tools.on():
        y = torch.clamp(x, min=0.0) + torch.log1p(torch.exp(-x.abs()))
    return _Tools.grad(y, x, dout)[0]
'''),
    "default_argument_alias": _a02("autograd", "leaky_relu_backward", '''
def leaky_relu_backward(dout, cache, _ag=torch.autograd, _on=torch.enable_grad):
    x, slope = cache
    x = x.detach().clone().requires_grad_()
    with _on():
        y = torch.where(x > 0, x, slope * x)
    return _ag.grad(y, x, dout)[0]
'''),
    "feed_forward_by_autograd": Variant("autograd", A11, "a11.feed_forward_backward", "layers.py", '''
def feed_forward_backward(dout, cache):
    x, w1, w2, pre, hidden = (t.detach().clone() for t in cache)
    b1 = torch.zeros(w1.shape[0], dtype=x.dtype).requires_grad_()
    b2 = torch.zeros(w2.shape[0], dtype=x.dtype).requires_grad_()
    for t in (x, w1, w2):
        t.requires_grad_()
    with torch.enable_grad():
        p = x @ w1.T + b1 + (pre - x @ w1.T).detach()  # the forward's own pre-activation, as a graph
        out = torch.where(p > 0, p, torch.zeros_like(p)) @ w2.T + b2
        out.backward(dout)
    return x.grad, w1.grad, b1.grad, w2.grad, b2.grad
'''),
    # reexport: banned modules and functions reached through other modules, private names, aliases
    "ops_aten_through_init": _a02("reexport", "relu_forward", '''
def relu_forward(x):
    return torch.nn.init.torch.ops.aten.relu(x), x
'''),
    "functional_through_activation": _a02("reexport", "sigmoid_forward", '''
def sigmoid_forward(x):
    from torch.nn.modules.activation import F as G
    out = G.sigmoid(x)
    return out, out
'''),
    "class_through_submodule": _a02("reexport", "tanh_forward", '''
def tanh_forward(x):
    out = torch.nn.modules.activation.Tanh()(x)
    return out, out
'''),
    "local_module_alias_ops": _a02("reexport", "relu_forward", '''
def relu_forward(x):
    T = torch
    return T.ops.aten.relu(x), x
'''),
    "disable_torch_function_sigmoid": _a02("reexport", "sigmoid_forward", '''
def sigmoid_forward(x):
    with torch.nn.init.torch._C.DisableTorchFunction():
        out = torch.sigmoid(x)
    return out, out
'''),
    "class_forward_unbound": _a02("reexport", "tanh_forward", '''
def tanh_forward(x):
    out = torch.nn.modules.activation.Tanh.forward(None, x)
    return out, out
'''),
    "module_level_relu_alias": _a02("reexport", "relu_forward", '''
_r = torch.relu


def relu_forward(x):
    return _r(x), x
'''),
    "default_argument_sigmoid": _a02("reexport", "sigmoid_forward", '''
def sigmoid_forward(x, _s=torch.sigmoid):
    out = _s(x)
    return out, out
'''),
    "lambda_at_module_level": _a02("reexport", "softmax_cross_entropy", '''
_lsm = lambda s: torch.log_softmax(s, 1)  # noqa: E731


def softmax_cross_entropy(scores, y):
    n = scores.shape[0]
    lp = _lsm(scores)
    loss = -lp[torch.arange(n), y].mean()
    d = torch.exp(lp)
    d[torch.arange(n), y] -= 1.0
    return loss, d / n
'''),
    "linear_through_submodule": _a02("reexport", "affine_forward", '''
def affine_forward(x, w, b):
    out = torch.nn.modules.linear.F.linear(x, w.T, b)
    return out, (x, w, b)
'''),
    "functional_loss_through_loss_module": _a02("reexport", "mse_loss", '''
def mse_loss(pred, target):
    n = pred.shape[0]
    loss = torch.nn.modules.loss.F.mse_loss(pred, target, reduction="sum") * 0.5 / n
    return loss, (pred - target) / n
'''),
    "scipy_private_module": Variant("reexport", A11, "a11.hungarian_match", "detr.py", '''
def hungarian_match(cost):
    from scipy.optimize._lsap import linear_sum_assignment as solve
    r, c = solve(cost.detach().cpu().numpy())
    return torch.as_tensor(r, dtype=torch.int64), torch.as_tensor(c, dtype=torch.int64)
'''),
    "scipy_module_level_alias": Variant("reexport", A11, "a11.bipartite_match", "detr.py", '''
from scipy.optimize import linear_sum_assignment as _lsa


def bipartite_match(pred_logits, pred_boxes, tgt_labels, tgt_boxes, cost_class=1.0, cost_bbox=5.0, cost_giou=2.0):
    cost = matching_cost(pred_logits, pred_boxes, tgt_labels, tgt_boxes, cost_class, cost_bbox, cost_giou)
    r, c = _lsa(cost.detach().cpu().numpy().T)
    order = c.argsort()
    return torch.as_tensor(c[order], dtype=torch.int64), torch.as_tensor(r[order], dtype=torch.int64)
'''),

    # operation: the banned operation under a spelling the ban does not name
    "relu_inplace_method": _a02("operation", "relu_forward", '''
def relu_forward(x):
    return x.clone().relu_(), x
'''),
    "relu_inplace_function": _a02("operation", "relu_forward", '''
def relu_forward(x):
    return torch.relu_(x.clone()), x
'''),
    "sigmoid_inplace_method": _a02("operation", "sigmoid_forward", '''
def sigmoid_forward(x):
    out = x.clone().sigmoid_()
    return out, out
'''),
    "sigmoid_inplace_function": _a02("operation", "sigmoid_forward", '''
def sigmoid_forward(x):
    out = torch.sigmoid_(x.clone())
    return out, out
'''),
    "log_softmax_from_special": _a02("operation", "softmax_cross_entropy", '''
def softmax_cross_entropy(scores, y):
    n = scores.shape[0]
    lp = torch.special.log_softmax(scores, 1)
    loss = -lp[torch.arange(n), y].mean()
    d = torch.exp(lp)
    d[torch.arange(n), y] -= 1.0
    return loss, d / n
'''),
    "tanh_module_by_getattr": _a02("operation", "tanh_forward", '''
def tanh_forward(x):
    out = getattr(torch.nn, "Tanh")()(x)
    return out, out
'''),
    "relu_module_inplace": _a02("operation", "relu_forward", '''
def relu_forward(x):
    return torch.nn.ReLU(inplace=True)(x.clone()), x
'''),
    "softmax_module": Variant("operation", A10, "a10.masked_softmax_forward", "softmax.py", '''
def masked_softmax_forward(x, mask=None, dim=-1):
    if mask is not None:
        x = x.masked_fill(~mask, float("-inf"))
    p = torch.nn.Softmax(dim)(x)
    return p, (p, dim)
'''),
    "native_layer_norm": Variant("operation", A11, "a11.layer_norm_forward", "layers.py", '''
def layer_norm_forward(x, gamma, beta, eps=1e-5):
    out, mu, rstd = torch.native_layer_norm(x, (x.shape[-1],), gamma, beta, eps)
    xhat = (x - mu) * rstd
    return out, (xhat, rstd, gamma)
'''),
}
