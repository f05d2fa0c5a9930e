"""What a banned entry expands to: every spelling of the operation it names, found from torch's registry."""
from __future__ import annotations

import subprocess
import sys

import pytest
import torch
import torch.nn.functional as F

from grader import paths
from grader.sandbox.inside import bans


def covered(entry: str, obj: object) -> bool:
    return bans.banned_entry(obj, bans.expand([entry])) == entry


@pytest.mark.parametrize("entry, spellings", [
    ("torch.relu", [torch.relu, torch.relu_, torch.Tensor.relu, torch.Tensor.relu_, F.relu, F.relu_,
                    torch.ops.aten.relu, torch.ops.aten.relu.default, torch.ops.aten.relu_.default]),
    ("torch.Tensor.relu", [torch.relu, torch.Tensor.relu_, F.relu]),
    ("torch.sigmoid", [torch.sigmoid, torch.sigmoid_, torch.Tensor.sigmoid, torch.Tensor.sigmoid_, F.sigmoid,
                       torch.special.expit, torch.ops.aten.sigmoid.default]),
    ("torch.special.expit", [torch.sigmoid, torch.Tensor.sigmoid_, F.sigmoid]),
    ("torch.log_softmax", [torch.log_softmax, torch.special.log_softmax, F.log_softmax, torch.Tensor.log_softmax,
                           torch.ops.aten._log_softmax.default]),
    ("torch.softmax", [torch.softmax, torch.special.softmax, F.softmax, torch.Tensor.softmax,
                       torch.ops.aten._softmax.default]),
    ("torch.layer_norm", [torch.layer_norm, F.layer_norm, torch.native_layer_norm]),
    ("torch.nn.functional.conv2d", [F.conv2d, torch.conv2d, torch.convolution]),
    ("torch.nn.functional.unfold", [F.unfold, torch.ops.aten.im2col.default]),
])
def test_a_banned_operation_covers_each_of_its_spellings(entry, spellings):
    assert [s for s in spellings if not covered(entry, s)] == []


@pytest.mark.parametrize("entry, others", [
    ("torch.relu", [torch.sigmoid, torch.clamp, torch.Tensor.clamp_, torch.maximum, F.leaky_relu, torch.matmul]),
    ("torch.sigmoid", [torch.tanh, torch.exp, F.logsigmoid, torch.Tensor.exp_, torch.add]),
    ("torch.log_softmax", [torch.softmax, torch.logsumexp, torch.log, torch.sub]),
    ("torch.softmax", [torch.log_softmax, torch.exp, torch.sum, torch.Tensor.div_]),
    # F.unfold computes im2col; Tensor.unfold is another operation that only shares its name (a04
    # bans the first everywhere and the second in im2col alone)
    ("torch.nn.functional.unfold", [torch.Tensor.unfold, torch.ops.aten.unfold.default, torch.as_strided]),
])
def test_a_banned_operation_leaves_other_operations_alone(entry, others):
    assert [o for o in others if covered(entry, o)] == []


def test_the_aten_operations_of_a_ban_are_named():
    assert bans.expand(["torch.relu"]).aten == {"relu"}
    assert bans.expand(["torch.log_softmax"]).aten == {"_log_softmax"}
    assert "sigmoid" in bans.expand(["torch.special.expit"]).aten


def test_a_banned_module_covers_itself_its_submodules_and_what_they_export_by_identity():
    e = bans.expand(["torch.autograd"])
    for obj in (torch.autograd, torch.autograd.grad, torch.autograd.Function, torch.autograd.functional.jacobian,
                torch.autograd.graph.saved_tensors_hooks, torch.enable_grad, torch.set_grad_enabled,
                torch.autograd.forward_ad.make_dual):
        assert bans.banned_entry(obj, e) == "torch.autograd", obj
    assert e.autograd
    f = bans.expand(["torch.nn.functional"])
    assert bans.banned_entry(torch.conv2d, f) == "torch.nn.functional"  # the very object F.conv2d is
    assert bans.banned_entry(F.relu, f) == "torch.nn.functional"
    assert not f.autograd
    assert bans.expand(["torch.func"]).autograd and bans.expand(["torch.Tensor.backward"]).autograd


def test_a_module_ban_leaves_what_it_merely_imports_alone():
    e = bans.expand(["torch.autograd", "torch.nn.functional", "torch.func"])
    for obj in (torch, torch.Tensor, torch.matmul, torch.zeros, torch.nn.Module, torch.dtype):
        assert bans.banned_entry(obj, e) is None, obj


def test_torch_no_grad_stays_allowed_where_autograd_is_banned():
    e = bans.expand(["torch.autograd", "torch.func", "torch.Tensor.backward"])
    assert bans.banned_entry(torch.no_grad, e) is None
    assert bans.banned_entry(torch.autograd.no_grad, e) is None
    assert bans.banned_entry(torch.enable_grad, e) == "torch.autograd"


def test_a_star_entry_covers_everything_in_the_module():
    e = bans.expand(["torch.nn.grad.*"])
    assert bans.banned_entry(torch.nn.grad.conv2d_input, e) == "torch.nn.grad.*"


def test_classes_are_objects_too():
    e = bans.expand(["torch.nn.Linear", "torch.nn.ReLU"])
    assert bans.banned_entry(torch.nn.Linear, e) == "torch.nn.Linear"
    assert bans.banned_entry(torch.nn.modules.activation.ReLU, e) == "torch.nn.ReLU"
    assert bans.banned_entry(torch.nn.Tanh, e) is None


def test_identity_not_equality_decides():
    e = bans.expand(["torch.relu"])
    assert bans.banned_entry(lambda x: torch.relu(x), e) is None
    assert bans.banned_entry("torch.relu", e) is None


def test_a_scipy_function_is_covered_wherever_scipy_exports_it():
    import scipy.optimize as scipy_optimize
    e = bans.expand(["scipy.optimize.linear_sum_assignment"])
    assert bans.banned_entry(scipy_optimize.linear_sum_assignment, e) == "scipy.optimize.linear_sum_assignment"
    assert any(n.startswith("scipy.optimize._") for n in e.names)  # its private module's spelling too


def test_an_entry_that_names_nothing_is_kept_by_name():
    e = bans.expand(["torch.no_such_function"])
    assert "torch.no_such_function" in e.names and not e.objects


def test_the_expansion_is_cached_per_list():
    assert bans.expand(("torch.relu", "torch.autograd")) is bans.expand(["torch.relu", "torch.autograd"])


def test_validate_explain_shows_every_spelling_of_a_tasks_bans():
    run = subprocess.run([sys.executable, "-m", "grader", "validate", "--explain", "a02.relu_forward"],
                         capture_output=True, text=True, timeout=600, cwd=paths.ROOT)
    assert run.returncode == 0, run.stderr[-2000:]
    out = run.stdout
    assert "a02.relu_forward:" in out and "torch.relu:" in out
    relu = out[out.index("  torch.relu:"):]
    relu = relu[:relu.index("\n  torch.", 1)]
    for line in ("torch: relu, relu_", "torch.Tensor: relu, relu_", "torch.nn.functional: relu, relu_"):
        assert line in relu, relu
    assert "aten: relu" in relu and "torch.ops.aten: relu" in relu
    plain = subprocess.run([sys.executable, "-m", "grader", "validate"], capture_output=True, text=True,
                           timeout=600, cwd=paths.ROOT)
    assert plain.returncode == 0 and plain.stdout.count("\n") == 1  # unchanged: one line
