"""Tests of grader.mutate: every operator fires, only solution blocks change, mutants are valid code."""
from __future__ import annotations

import ast
import math
import random
from collections import Counter

import pytest

from grader import paths
from grader.quality.mutate import MIN_PER_TASK, OPERATORS, mutants, mutants_of_file, sample
from grader.results import DiagnosisKind as K
from grader.authoring.release import solution_blocks
from tests.helpers import COURSE

SOURCE = '''"""A module."""
import torch


def helper(x):
    return x * 2


def f(x, w, b, dout, n: int, slope: float = 0.1):
    """Something with every kind of site."""
    h = x + 1
    ### BEGIN SOLUTION
    out = x @ w.T + b  # (N, M)
    s = out.sum(dim=1, keepdim=True)
    z = -out / (s + 1e-8)
    for i in range(1, n):
        z = z * slope
    y = torch.where(out > 0, z[:, 1:], torch.clamp(dout, min=0.0))
    ### END SOLUTION
    return y + h
'''


@pytest.fixture(scope="module")
def found():
    return mutants_of_file(SOURCE, "a99", "m.py", "m")


def test_every_operator_fires(found):
    assert {m.operator for m in found} == set(OPERATORS)
    descriptions = {m.description for m in found}
    for expected in ("+ -> -", "> -> >=", "sum -> mean", "unary minus dropped", ".T dropped", "transpose added to the left operand",
                     "dim 1 -> 0", "keepdim=True dropped", "constant 1e-08 -> 0.0", "constant 0 -> 1",
                     "term deleted: x @ w.T + b -> x @ w.T", "slice 1: -> 2:", "range(1, n) -> range(2, n)",
                     "arguments 1 and n swapped", "statement deleted: for i in range(1, n):",
                     "dout updated in place (.clamp_)"):
        assert expected in descriptions, expected


def test_the_variable_operator_is_opt_in():
    assert "variable" not in OPERATORS
    swaps = {m.description for m in mutants_of_file(SOURCE, "a99", "m.py", "m", ("variable",))}
    assert {"out -> s", "dout -> x", "z -> out"} <= swaps
    assert not any(d.startswith(("torch ", "i -> torch")) or d.endswith("-> torch") for d in swaps)


def test_only_solution_blocks_change_and_mutants_parse(found):
    lines = SOURCE.splitlines()
    begin = lines.index("    ### BEGIN SOLUTION")
    end = lines.index("    ### END SOLUTION")
    for m in found:
        assert m.task == "a99.f" and m.file == "m.py" and m.module == "m"
        ast.parse(m.source)
        new = m.source.splitlines()
        assert new[:begin + 1] == lines[:begin + 1], m.description
        tail = len(lines) - end
        assert new[-tail:] == lines[-tail:], m.description
        assert m.source != SOURCE
        assert m.diff.startswith(f"@@ m.py:{m.line} @@\n") and "\n-" in m.diff and "\n+" in m.diff
    assert len({m.source for m in found}) == len(found), "duplicate mutants"


def test_scalars_and_locals_are_not_updated_in_place(found):
    in_place = {m.description for m in found if m.operator == "in-place"}
    assert not any(d.startswith(("n ", "slope ", "z ", "out ")) for d in in_place), in_place


def test_a02_reference_yields_mutants_for_every_task():
    course_tasks = {"sigmoid_forward", "sigmoid_backward", "affine_backward", "softmax_cross_entropy",
                    "mlp_forward", "mlp_backward", "sgd_step"}
    found = mutants(paths.REFERENCE / "a02_mlp_backprop")
    by_task = {m.task.split(".", 1)[1] for m in found}
    assert course_tasks <= by_task
    assert {m.file for m in found} == {"layers.py", "mlp.py"}
    assert any(m.description == ".T dropped" and m.task == "a02.affine_backward" for m in found)
    assert any(m.operator == "in-place" and m.task == "a02.sgd_step" for m in found)


def _top_level_spans(text: str) -> list[tuple[int, int]]:
    """(first line, line after the last), 0-based, of each top-level statement, decorators included."""
    return [(min([n.lineno] + [d.lineno for d in getattr(n, "decorator_list", [])]) - 1, n.end_lineno)
            for n in ast.parse(text).body]


@pytest.mark.parametrize("aid", [a.id for a in COURSE.assignments if a.available])
def test_mutants_of_every_reference_parse_and_touch_only_their_block(aid):
    reference = paths.REFERENCE / aid
    found = mutants(reference)
    assert found
    files = {f: (reference / f).read_text() for f in {m.file for m in found}}
    blocks = {f: solution_blocks(text, aid.split("_", 1)[0]) for f, text in files.items()}
    spans = {f: _top_level_spans(text) for f, text in files.items()}
    for m in found:
        original = files[m.file].splitlines()
        [block] = [b for b in blocks[m.file] if b.start < m.line - 1 < b.end]
        assert block.task == m.task
        new = m.source.splitlines()
        assert new[:block.start + 1] == original[:block.start + 1], m.description
        assert new[len(new) - (len(original) - block.end):] == original[block.end:], m.description
        # All else being the same lines, the file parses if the top-level statement holding the edit
        # does: parsing that one (a function, a class) instead of the whole file is the same proof.
        [(first, end)] = [(a, e) for a, e in spans[m.file] if a <= block.start and block.end < e]
        ast.parse("\n".join(new[first:end + len(new) - len(original)]))


@pytest.fixture(scope="module")
def a02_mutants():
    return mutants(paths.REFERENCE / "a02_mlp_backprop")


def test_a_sample_is_pinned_by_a_stable_hash_not_by_order_or_interpreter(found):
    chosen = sample(found, 0.3)  # 17 of 54: one per operator (13), then 4 more
    # sha256 of what each mutant is: these on every machine and Python, whatever PYTHONHASHSEED says
    assert sorted(m.description for m in chosen) == [
        ".T dropped", "> -> <", "@ -> *", "arguments 1 and n swapped", "constant 0 -> 1", "dim 1 -> 2",
        "dim=1 dropped (reduce over everything)", "dout updated in place (.clamp_)", "keepdim=True dropped",
        "sign flipped", "slice : -> :-1", "statement deleted: for i in range(1, n):",
        "statement deleted: s = out.sum(dim=1, keepdim=True)", "sum -> mean",
        "term deleted: -out / (s + 1e-08) -> s + 1e-08", "term deleted: s + 1e-08 -> s", "unary minus dropped"]
    shuffled = list(found)
    random.Random(7).shuffle(shuffled)
    assert {m.diff for m in sample(shuffled, 0.3)} == {m.diff for m in chosen}
    assert chosen == [m for m in found if m in chosen]  # in the order they were made


@pytest.mark.parametrize("fraction", [0.01, 0.2, 0.5])
def test_a_sample_keeps_its_fraction_of_every_task_and_every_operator(a02_mutants, fraction):
    chosen = sample(a02_mutants, fraction)
    everything, kept = Counter(m.task for m in a02_mutants), Counter(m.task for m in chosen)
    assert set(kept) == set(everything)
    for task, n in everything.items():
        operators = {m.operator for m in a02_mutants if m.task == task}
        assert {m.operator for m in chosen if m.task == task} == operators, task
        assert kept[task] == min(n, max(math.ceil(fraction * n), len(operators), MIN_PER_TASK)), task
    assert fraction * len(a02_mutants) <= len(chosen) < len(a02_mutants)
    assert sample(a02_mutants, 1.0) == a02_mutants


def test_past_one_per_operator_a_sample_is_spread_evenly_over_them(found):
    per_operator = Counter(m.operator for m in sample(found, 0.5))  # 27 of 54, over 13 operators
    assert sum(per_operator.values()) == 27 and len(per_operator) == len(OPERATORS)
    everything = Counter(m.operator for m in found)
    assert all(per_operator[op] in (min(n, 2), min(n, 3)) for op, n in everything.items()), per_operator


@pytest.mark.parametrize("fraction", [0.0, -0.2, 1.5, float("nan")])
def test_a_sample_fraction_outside_0_to_1_is_refused(found, fraction):
    with pytest.raises(ValueError, match="fraction must be in"):
        sample(found, fraction)


MISTAKES = '''import torch


def g(x, out, h, dout, edge, row, col, n: int, dim: int = -1):
    ### BEGIN SOLUTION
    d = dout * h * (1.0 - h)
    e = dout * (1.0 - out * out)
    p = x.softmax(dim=dim)
    s = torch.zeros_like(x).index_add(0, row, x[col])
    for t in reversed(range(n)):
        e = e + x[t]
    k = torch.arange(0, n)
    ### END SOLUTION
    return d, e, p, s, k
'''


def test_each_mutant_carries_the_kind_of_its_edit(found):
    kinds = {m.description: m.kind for m in found}
    assert kinds["+ -> -"] == K.SIGN and kinds["sum -> mean"] == K.SCALE and kinds[".T dropped"] == K.TRANSPOSE
    assert kinds["> -> >="] == K.MASK and kinds["dim 1 -> 0"] == K.AXIS and kinds["slice 1: -> 2:"] == K.OFF_BY_ONE
    assert kinds["term deleted: x @ w.T + b -> x @ w.T"] == K.MISSING_TERM
    assert kinds["constant 1e-08 -> 0.0"] is None  # an eps removed: no one kind of mistake
    assert kinds["dout updated in place (.clamp_)"] == K.IN_PLACE
    where = [m for m in found if m.operator == "swap" and "torch.clamp" in m.description]
    assert where and all(m.kind == K.MASK for m in where)  # where(c, a, b) with a and b swapped: a mask inverted


def test_the_classic_mistakes_are_opt_in_and_each_has_its_kind():
    assert "misconception" not in OPERATORS
    made = {m.description: m for m in mutants_of_file(MISTAKES, "a99", "m.py", "m", ("misconception",))}
    expected = {
        "derivative h * (1.0 - h) -> tanh's 1 - y^2": ("d = dout * (1.0 - h * h)", K.ACTIVATION),
        "derivative h * (1.0 - h) -> 1 - y": ("d = dout * (1.0 - h)", K.ACTIVATION),
        "derivative h * (1.0 - h) -> nothing": ("d = dout", K.ACTIVATION),
        "derivative 1.0 - out * out -> the sigmoid's y(1 - y)": ("e = dout * (out * (1.0 - out))", K.ACTIVATION),
        "derivative 1.0 - out * out -> 1 - y": ("e = dout * (1.0 - out)", K.ACTIVATION),
        "dim=dim -> -1": ("p = x.softmax(dim=-1)", K.AXIS),
        "dim=dim -> 0": ("p = x.softmax(dim=0)", K.AXIS),
        "indices row and col swapped": ("s = torch.zeros_like(x).index_add(0, col, x[row])", K.TRANSPOSE),
        "range(n) -> range(1, n) (first left out)": ("for t in reversed(range(1, n)):", K.OFF_BY_ONE),
        "range(n) -> range(1, n + 1) (counted from one)": ("for t in reversed(range(1, n + 1)):", K.OFF_BY_ONE),
        "torch.arange(0, n) -> torch.arange(1, n + 1) (counted from one more)": ("k = torch.arange(1, n + 1)",
                                                                                 K.OFF_BY_ONE),
    }
    for description, (line, kind) in expected.items():
        assert description in made, (description, sorted(made))
        assert line in made[description].source and made[description].kind == kind, description
        ast.parse(made[description].source)
    assert all(m.kind is not None for m in made.values())
