"""The grading process's tensors (grader.tasks.arrays): numpy arrays under torch's dtype names, carried by the
wire format bit for bit both ways, and compared as torch's tensors were."""
from __future__ import annotations

import math

import pytest
import torch

from grader.judge.compare import Tolerance, compare
from grader.sandbox.inside import wire
from grader.tasks.arrays import Array, of, to_torch, tree_of, tree_to_torch
from grader.tasks.dtypes import SIZES, by_name


def bits(t: torch.Tensor) -> bytes:
    t = t.contiguous()
    return (t.view(torch.int16) if t.dtype == torch.bfloat16 else t).numpy().tobytes()


def sample(name: str) -> torch.Tensor:
    g = torch.Generator().manual_seed(3)
    dtype = by_name()[name]
    if dtype.is_floating_point:
        t = torch.randn(3, 5, generator=g, dtype=torch.float64).to(dtype)
        t[0, 0], t[0, 1], t[0, 2], t[0, 3] = math.nan, math.inf, -math.inf, -0.0
        return t
    if dtype.is_complex:
        return torch.randn(4, generator=g, dtype=dtype)
    if dtype == torch.bool:
        return torch.rand(2, 3, generator=g) > 0.5
    info = torch.iinfo(dtype)
    return torch.randint(info.min, info.max, (2, 2, 3), generator=g, dtype=dtype)


@pytest.mark.parametrize("name", sorted(SIZES))
def test_every_dtype_crosses_the_wire_as_an_array_and_back_bit_for_bit(name):
    t = sample(name)
    got = wire.decode(wire.encode({"x": t, "empty": t[:0]}), tensors=False)
    assert type(got["x"]) is Array and got["x"].dtype == name and got["x"].shape == tuple(t.shape)
    assert got["empty"].shape == (0,) + tuple(t.shape[1:])
    back = wire.decode(wire.encode(got))  # the grading process sends an Array as the tensor it stands for
    assert back["x"].dtype == t.dtype and bits(back["x"]) == bits(t)
    assert bits(to_torch(of(t))) == bits(t) and to_torch(of(t)).dtype == t.dtype


def test_trees_convert_leaf_by_leaf_and_leave_the_rest():
    tree = {"params": [(torch.ones(2), torch.zeros(1, dtype=torch.int64))], "lr": 0.5, "name": "x"}
    arrays = tree_of(tree)
    assert type(arrays["params"][0][0]) is Array and arrays["lr"] == 0.5 and arrays["name"] == "x"
    assert torch.equal(tree_to_torch(arrays)["params"][0][1], tree["params"][0][1])


def test_a_tensor_subclass_is_not_taken_for_a_tensor():
    class Sneaky(torch.Tensor):
        pass

    s = torch.ones(2).as_subclass(Sneaky)
    assert of(s) is s
    assert not compare("x", s, torch.ones(2), Tolerance(0.0, 0.0)).passed


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32, torch.bfloat16, torch.int64, torch.bool])
def test_comparing_arrays_says_what_comparing_tensors_says(dtype):
    """The same verdict, numbers and message whether the values come as torch's tensors or as Arrays."""
    g = torch.Generator().manual_seed(11)
    expected = (torch.randn(6, 7, generator=g) * 10).to(dtype) if dtype != torch.bool else torch.rand(6, 7, generator=g) > .5
    tol = Tolerance(1e-5, 1e-6)
    for got in (expected.clone(), expected.flip(0), expected[:3], expected.to(torch.float16),
                torch.where(torch.rand(6, 7, generator=g) > 0.9, expected.to(torch.float64) + 1, expected.to(torch.float64))
                .to(dtype)):
        a = compare("x", got, expected, tol)
        b = compare("x", of(got), of(expected), tol)
        assert (a.passed, a.message, a.max_abs_err, a.max_rel_err, a.where, a.problem) == \
            (b.passed, b.message, b.max_abs_err, b.max_rel_err, b.where, b.problem)


def test_a_torch_another_thread_is_still_importing_counts_as_not_loaded(monkeypatch):
    """A grading thread must not read torch's names while another thread is importing it (the expected values
    of one assignment computed while another's are read from the cache): until then nothing is a tensor."""
    import importlib.machinery
    import sys
    import types

    from grader.judge import expected_cache
    from grader.tasks.arrays import torch_loaded

    half = types.ModuleType("torch")
    half.__spec__ = importlib.machinery.ModuleSpec("torch", None)
    half.__spec__._initializing = True  # what the import system sets while the module's code runs
    monkeypatch.setitem(sys.modules, "torch", half)
    assert torch_loaded() is None and of(3) == 3
    from grader.course import config
    from grader.paths import ROOT
    course = config.load(ROOT / "course.yaml")
    key = expected_cache.entry_key(course, course.assignment("a01_neurons"), "public")
    assert key["default_dtype"] == "torch.float32"
    half.__spec__._initializing = False
    assert torch_loaded() is half
