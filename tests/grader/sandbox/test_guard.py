"""The run-time half of the bans on its own: with the static scan switched off, the sandboxed child's guard
ends each route to autograd, each other spelling of a banned operation and each banned scipy call
with status ``banned``, naming what was used and the student's line."""
from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from grader.judge.pipeline import grade
from grader.judge import scan
from grader.sandbox.session import runner_for
from tests.helpers import COURSE, splice_source
from tests.hostile.variants import VARIANTS

A02, A11 = "a02_mlp_backprop", "a11_transformer"

# task -> (code spliced into layers.py, what the message must name)
AUTOGRAD = {
    "a02.affine_backward": (VARIANTS["grad_fn_walk"].code, "grad"),
    "a02.relu_backward": ('''
def relu_backward(dout, cache):
    x = cache.detach().clone()
    with torch.set_grad_enabled(True):
        x.requires_grad_()
        (torch.clamp(x, min=0.0) * dout).sum().backward()
    return x.grad
''', "grad"),
    "a02.leaky_relu_backward": ('''
class _Leaky(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x, slope):
        ctx.save_for_backward(x)
        ctx.slope = slope
        return torch.where(x > 0, x, slope * x)

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return torch.where(x > 0, g, ctx.slope * g), None


def leaky_relu_backward(dout, cache):
    x, slope = cache
    x = x.detach().clone()
    x.requires_grad = True
    with torch.enable_grad():
        y = _Leaky.apply(x, slope)
    y.backward(dout)
    return x.grad
''', "grad"),
    "a02.mse_loss": (VARIANTS["func_grad"].code, ""),
    "a02.softmax_cross_entropy": (VARIANTS["func_vjp_reexport"].code, ""),
    "a02.softplus_backward": ('''
def softplus_backward(dout, cache):
    x = cache.detach().clone().requires_grad_()
    with torch.nn.init.torch.enable_grad():
        y = torch.clamp(x, min=0.0) + torch.log1p(torch.exp(-x.abs()))
    return torch.nn.init.torch.autograd.grad(y, x, dout)[0]
''', "grad"),
    "a02.tanh_backward": ('''
def tanh_backward(dout, cache):
    x = cache.detach().clone()
    with torch.nn.init.torch._C.DisableTorchFunction():
        with torch.inference_mode(False), torch.enable_grad():
            x = x.clone().requires_grad_()
            y = torch.tanh(x)
        return torch.autograd.grad(y, x, dout)[0]
''', "torch._C.DisableTorchFunction"),
    "a02.sigmoid_backward": ('''
def sigmoid_backward(dout, cache):
    x = cache.detach().clone()
    with torch.inference_mode(False):
        with torch.enable_grad():
            x = x.clone().requires_grad_()
            y = torch.sigmoid(x)
    return torch.autograd.grad(y, x, dout)[0]
''', "torch._C._InferenceMode"),
}

OPERATIONS = {
    "a02.relu_forward": ('''
def relu_forward(x):
    return x.clone().relu_(), x
''', "torch.Tensor.relu_"),
    "a02.sigmoid_forward": ('''
def sigmoid_forward(x):
    out = torch.sigmoid_(x.clone())
    return out, out
''', "torch.sigmoid_"),
    "a02.tanh_forward": ('''
def tanh_forward(x):
    out = torch.nn.modules.activation.Tanh.forward(None, x)
    return out, out
''', "torch.nn.Tanh"),
    "a02.softmax_cross_entropy": ('''
def softmax_cross_entropy(scores, y):
    n = scores.shape[0]
    lp = torch.special.log_softmax(scores, dim=1)
    p = lp.exp()
    p[torch.arange(n), y] -= 1
    return -lp[torch.arange(n), y].mean(), p / n
''', "torch.special.log_softmax"),
}

SCIPY = {
    "a11.hungarian_match": ('''
import scipy.optimize._lsap as _private


def hungarian_match(cost):
    rows, cols = _private.linear_sum_assignment(cost.detach().cpu().numpy())
    return torch.as_tensor(rows, dtype=torch.long), torch.as_tensor(cols, dtype=torch.long)
''', "scipy.optimize.linear_sum_assignment"),
}


@pytest.fixture()
def no_scan(monkeypatch):
    """The static scan finds nothing: what is left is the run-time layer."""
    monkeypatch.setattr(scan, "scan", lambda *args, **kwargs: [])


def _graded(solutions, tmp_path: Path, aid: str, attacks: dict[str, tuple[str, str]], file: str) -> dict:
    folder = tmp_path / aid
    shutil.copytree(solutions(aid), folder, ignore=shutil.ignore_patterns("__pycache__"))
    for code, _ in attacks.values():
        splice_source(folder / file, code)
    return {t.id: t for t in grade(folder, COURSE, [aid], runner=runner_for("cpu")).assignments[0].tasks}


def _verdicts(tasks: dict, attacks: dict[str, tuple[str, str]], file: str) -> dict[str, str]:
    """task -> what is wrong with its outcome ('' where it is banned with a message naming the use and line)."""
    out = {}
    for task, (_, named) in attacks.items():
        t = tasks[task]
        message = " ".join(c.said for c in t.checks if not c.passed)
        wrong = []
        if (t.status, t.score) != ("banned", 0.0):
            wrong.append(f"{t.status} {t.score}")
        if named not in message:
            wrong.append(f"does not name {named}")
        if not re.search(rf"{re.escape(file)} line \d+", message):
            wrong.append("does not name the line")
        out[task] = "; ".join(wrong) + (f": {message[:300]}" if wrong else "")
    return out


def _half(d: dict, first: bool) -> dict:
    keys = sorted(d)
    return {k: d[k] for k in (keys[::2] if first else keys[1::2])}


@pytest.mark.parametrize("first", [True, False], ids=["group1", "group2"])
def test_every_route_to_autograd_ends_banned_without_the_scan(solutions, tmp_path, no_scan, first):
    # two gradings: within one, no attacked task calls another
    attacks = {t: a for t, a in _half(AUTOGRAD, first).items()
               if not (first and t == "a02.softmax_cross_entropy")}
    tasks = _graded(solutions, tmp_path, A02, attacks, "layers.py")
    assert _verdicts(tasks, attacks, "layers.py") == {t: "" for t in attacks}


def test_other_spellings_of_a_banned_operation_end_banned_without_the_scan(solutions, tmp_path, no_scan):
    tasks = _graded(solutions, tmp_path, A02, OPERATIONS, "layers.py")
    assert _verdicts(tasks, OPERATIONS, "layers.py") == {t: "" for t in OPERATIONS}
    assert tasks["a02.affine_forward"].status == "passed"  # untouched and calling none of them


def test_a_banned_scipy_function_through_its_private_module_ends_banned_without_the_scan(solutions, tmp_path,
                                                                                         no_scan):
    tasks = _graded(solutions, tmp_path, A11, SCIPY, "detr.py")
    assert _verdicts(tasks, SCIPY, "detr.py") == {t: "" for t in SCIPY}


def test_a_module_level_alias_of_a_banned_scipy_function_ends_banned_without_the_scan(solutions, tmp_path,
                                                                                       no_scan):
    attack = {"a11.hungarian_match": ('''
from scipy.optimize import linear_sum_assignment as _lsa


def hungarian_match(cost):
    rows, cols = _lsa(cost.detach().cpu().numpy())
    return torch.as_tensor(rows, dtype=torch.long), torch.as_tensor(cols, dtype=torch.long)
''', "scipy.optimize.linear_sum_assignment")}
    tasks = _graded(solutions, tmp_path, A11, attack, "detr.py")
    assert _verdicts(tasks, attack, "detr.py") == {t: "" for t in attack}


def test_a_banned_scipy_module_imported_while_the_task_runs_ends_banned_without_the_scan(solutions, tmp_path,
                                                                                        no_scan):
    attack = {"a11.hungarian_match": ('''
def hungarian_match(cost):
    import scipy.optimize
    rows, cols = scipy.optimize.linear_sum_assignment(cost.detach().cpu().numpy())
    return torch.as_tensor(rows, dtype=torch.long), torch.as_tensor(cols, dtype=torch.long)
''', "scipy.optimize.linear_sum_assignment")}
    t = _graded(solutions, tmp_path, A11, attack, "detr.py")["a11.hungarian_match"]
    message = " ".join(c.said for c in t.checks if not c.passed)
    assert (t.status, t.score) == ("banned", 0.0)
    assert "imported scipy.optimize while it ran" in message and "scipy.optimize.linear_sum_assignment" in message


def test_the_honest_solutions_keep_full_marks_with_the_run_time_layer_alone(solutions, no_scan):
    for aid in (A02, A11):
        result = grade(solutions(aid), COURSE, [aid], suite="all", runner=runner_for("cpu"))
        lost = {t.id: (t.status, [c.message[:200] for c in t.checks if not c.passed][:1])
                for t in result.assignments[0].tasks if t.score != t.max_score}
        assert lost == {}
