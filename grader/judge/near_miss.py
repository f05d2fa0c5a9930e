"""The reference's own near misses: which one-edit mutant of the solution behaves like the submission.

Where a failed check's numbers fit none of the relations of :mod:`grader.judge.hypotheses`, the
mutants of the task's own solution block (:mod:`grader.quality.mutate`: a flipped sign, a term
or a statement left out, another axis, a range off by one, a comparison reversed, arguments
swapped) run on the check's failing cases, in this process (the reference is the course's own
code). A mutant whose output agrees with what the submission returned, within the check's
tolerance, on every failing case tried and on two at least, names the kind of the mistake; they
are tried the likeliest kind of edit first (a sign, a term, a statement, an axis, a range, a
transpose, ..., another variable last) and the first that fits is said. The text names the
kind of edit, never the solution's code.

Costs only failures: at most :data:`BUDGET_S` of wall clock per failed task, in the grader's
main thread (the time limit on a mutant that loops is a signal); elsewhere (a thread of
``--jobs``) and where the reference is not at hand (a student repository) it is skipped.
"""
from __future__ import annotations

import ast
import functools
import itertools
import threading
import time
from dataclasses import dataclass

import torch

from grader import paths
from grader.judge.compare import Tolerance, close
from grader.quality import inprocess, mutate
from grader.results import Diagnosis, DiagnosisKind as K
from grader.tasks.model import Task

BUDGET_S = 1.0
MAX_CASES = 3

# What a mutant's edit means, by operator (and, for an arithmetic swap, by the symbols swapped).
KINDS = {"sign": K.SIGN, "term": K.MISSING_TERM, "delete": K.MISSING_TERM, "axis": K.AXIS,
         "off-by-one": K.OFF_BY_ONE, "transpose": K.TRANSPOSE, "keepdim": K.KEEPDIM, "compare": K.MASK,
         "swap": K.WRONG_INPUT, "in-place": K.IN_PLACE, "variable": K.WRONG_INPUT}
WORDS = {
    K.SIGN: "it behaves like the solution with one sign flipped",
    K.MISSING_TERM: "it behaves like the solution with one term or step left out",
    K.AXIS: "it behaves like the solution with one operation taken along another axis",
    K.OFF_BY_ONE: "it behaves like the solution with one range or slice off by one",
    K.TRANSPOSE: "it behaves like the solution with a transpose added or left out",
    K.KEEPDIM: "it behaves like the solution with a kept dimension dropped",
    K.MASK: "it behaves like the solution with one comparison (a mask or threshold) reversed",
    K.WRONG_INPUT: "it behaves like the solution with one value used in place of another (the wrong input)",
    K.IN_PLACE: "it behaves like the solution with a value updated in place",
    K.SCALE: "it behaves like the solution with a sum and a mean swapped",
}
ORDER = ("sign", "term", "delete", "axis", "off-by-one", "transpose", "keepdim", "reduction", "compare", "swap",
         "arith", "in-place", "variable")  # the likeliest first: the budget may end the search
PACKAGES = itertools.count()


@dataclass(frozen=True)
class Failing:
    """A failing case of one check: the case's inputs and what the submission returned."""

    inputs: dict
    got: torch.Tensor


def kind_of(m: mutate.Mutant) -> K | None:
    """The kind of mistake a mutant's edit is, where one kind fits it; None where its edit could be
    several (a factor left out of a product may be a mask, an activation's derivative or a scale)."""
    d = m.description
    if m.operator == "arith":
        return K.SIGN if d in ("+ -> -", "- -> +") else None
    if m.operator == "reduction":
        return K.SCALE if d in ("sum -> mean", "mean -> sum") else None
    if m.operator == "swap":
        if d.startswith("operands of "):
            return {"-": K.SIGN, "@": K.TRANSPOSE}.get(d.split()[2])
        return K.MASK if _edited_line(m).count("where(") else K.WRONG_INPUT  # where(c, a, b): a mask inverted
    if m.operator == "term":
        return _deleted_term(d)
    if m.operator == "delete":
        line = d.removeprefix("statement deleted: ")
        return K.MASK if "mask" in line.lower() else K.MISSING_TERM if ("+=" in line or "-=" in line) else None
    return KINDS.get(m.operator)


def _edited_line(m: mutate.Mutant) -> str:
    lines = m.source.splitlines()
    return lines[m.line - 1] if 0 < m.line <= len(lines) else ""


def _deleted_term(description: str) -> K | None:
    """``term deleted: A -> B``: a summand left out is a missing term; a factor left out is a mask where the
    factor is a comparison or a mask, else it could be anything."""
    whole, _, kept = description.removeprefix("term deleted: ").partition(" -> ")
    try:
        node = ast.parse(whole, mode="eval").body
    except SyntaxError:
        return None
    if not isinstance(node, ast.BinOp):
        return None
    if isinstance(node.op, (ast.Add, ast.Sub)):
        return K.MISSING_TERM
    gone = node.right if ast.unparse(node.left) == kept else node.left
    if any(isinstance(n, ast.Compare) for n in ast.walk(gone)) or "mask" in ast.unparse(gone).lower():
        return K.MASK
    return None


@functools.lru_cache(maxsize=16)
def _mutants(aid: str) -> dict[str, list[mutate.Mutant]]:
    """The assignment's mutants by task, the likeliest operators first."""
    by_task: dict[str, list[mutate.Mutant]] = {}
    for m in sorted(mutate.mutants(paths.REFERENCE / aid, mutate.OPERATORS + mutate.EXTRA_OPERATORS), key=lambda m: ORDER.index(m.operator)
                    if m.operator in ORDER else len(ORDER)):
        if kind_of(m) is not None:
            by_task.setdefault(m.task, []).append(m)
    return by_task


@functools.lru_cache(maxsize=16)
def _sources(aid: str) -> dict[str, tuple[str, str]]:
    return inprocess.package_sources(paths.REFERENCE / aid)


def available(aid: str) -> bool:
    return (paths.REFERENCE / aid).is_dir() and threading.current_thread() is threading.main_thread()


def diagnose(aid: str, task: Task, name: str, failing: list[Failing], tol: Tolerance,
             budget_s: float = BUDGET_S) -> list[Diagnosis]:
    """The kind the mutants that behave like the submission agree on (nothing where they disagree,
    where none does, or where fewer than two failing cases can say)."""
    failing = [f for f in failing if type(f.got) is torch.Tensor][:MAX_CASES]
    if len(failing) < 2 or not available(aid):
        return []
    stop = time.monotonic() + budget_s
    for m in _mutants(aid).get(task.id, []):
        left = stop - time.monotonic()
        if left <= 0:
            break
        if _behaves_like(aid, task, name, m, failing, tol, left):
            kind = kind_of(m)
            assert kind is not None
            return [Diagnosis(kind, WORDS[kind])]  # the likeliest edit that fits: the first found
    return []


def _behaves_like(aid: str, task: Task, name: str, m: mutate.Mutant, failing: list[Failing], tol: Tolerance,
                  left: float) -> bool:
    modules = dict(_sources(aid))
    file, _ = modules[m.module]
    modules[m.module] = (file, m.source)
    package = f"_near_miss_{next(PACKAGES)}"
    loaded = inprocess.FINDER.load(package, modules, label=" (mutant)")
    try:
        with inprocess.time_limit(left):
            for f in failing:
                response, _ = inprocess.run_case(task, loaded, f.inputs, 0)
                out = response.outputs.get(name) if response.outputs else None
                if type(out) is not torch.Tensor or out.shape != f.got.shape or \
                        not close(out.to(torch.float64), f.got.to(torch.float64), tol):
                    return False
        return True
    except inprocess.Timeout:
        return False
    except Exception:  # noqa: BLE001  (a mutant that crashes behaves like no submission that returned values)
        return False
    finally:
        inprocess.FINDER.unload(package)
