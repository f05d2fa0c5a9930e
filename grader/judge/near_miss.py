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

Costs only failures: at most :data:`MAX_MUTANTS` mutants and :data:`BUDGET_S` of this process's
CPU time per failed task (CPU rather than wall clock, so a loaded machine tries the same
mutants and says the same), in the grader's main thread (the time limit on a mutant that loops is a signal); elsewhere (a thread of
``--jobs``) and where the reference is not at hand (a student repository) it is skipped.
"""
from __future__ import annotations

import ast
import functools
import importlib.util
import itertools
import threading
import time
import warnings
from dataclasses import dataclass
from typing import TYPE_CHECKING

import torch

from grader import paths
from grader.judge.compare import Tolerance, close
from grader.results import Diagnosis, DiagnosisKind as K
from grader.tasks.model import Task

if TYPE_CHECKING:
    from grader.quality.mutate import Mutant

MAX_MUTANTS = 250  # tried per failed task at most, the likeliest first
BUDGET_S = 1.0     # CPU seconds per failed task: the same mutants are tried however loaded the machine is
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
    """A failing case of one check: the case's index and inputs, and what the submission returned."""

    case: int
    inputs: dict
    got: torch.Tensor


def kind_of(m: Mutant) -> K | None:
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


def _edited_line(m: Mutant) -> str:
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


@functools.lru_cache(maxsize=64)
def _mutants(aid: str, module: str) -> dict[str, list[Mutant]]:
    """The mutants of one file of the assignment's reference, by task, the likeliest operators first."""
    from grader.quality import mutate
    path = paths.REFERENCE / aid / (module.replace(".", "/") + ".py")
    found = mutate.mutants_of_file(path.read_text(encoding="utf-8"), aid.split("_", 1)[0],
                                   path.relative_to(paths.REFERENCE / aid).as_posix(), module,
                                   mutate.OPERATORS + mutate.EXTRA_OPERATORS)
    by_task: dict[str, list[Mutant]] = {}
    for m in sorted(found, key=lambda m: ORDER.index(m.operator) if m.operator in ORDER else len(ORDER)):
        if kind_of(m) is not None:
            by_task.setdefault(m.task, []).append(m)
    return by_task


@functools.lru_cache(maxsize=16)
def _sources(aid: str) -> dict[str, tuple[str, str]]:
    from grader.quality import inprocess
    return inprocess.package_sources(paths.REFERENCE / aid)


def available(aid: str) -> bool:
    """Where near misses can be looked for: the reference and the mutation code at hand (not in a student
    repository, which ships neither), on the main thread (a looping mutant is stopped by a signal)."""
    return (paths.REFERENCE / aid).is_dir() and importlib.util.find_spec("grader.quality") is not None and \
        threading.current_thread() is threading.main_thread()


def diagnose(aid: str, task: Task, failing: dict[str, list[Failing]], tols: dict[str, Tolerance],
             budget_s: float = BUDGET_S) -> dict[str, list[Diagnosis]]:
    """For each check of ``task`` (name -> its failing cases), the kind of the first mutant that behaves
    like the submission on them (nothing where none does, or where fewer than two failing cases can
    say). Each mutant runs once per case, for every check at once."""
    wanted = {name: [f for f in cases if type(f.got) is torch.Tensor][:MAX_CASES] for name, cases in failing.items()}
    wanted = {name: cases for name, cases in wanted.items() if len(cases) >= 2}
    found: dict[str, list[Diagnosis]] = {}
    if not wanted or not available(aid):
        return found
    stop = time.process_time() + budget_s
    for m in _mutants(aid, task.module).get(task.id, [])[:MAX_MUTANTS]:
        left = stop - time.process_time()
        if left <= 0 or len(found) == len(wanted):
            break
        for name in _behaves_like(aid, task, m, {n: c for n, c in wanted.items() if n not in found}, tols, left):
            kind = kind_of(m)
            assert kind is not None
            found[name] = [Diagnosis(kind, WORDS[kind])]  # the likeliest edit that fits: the first found
    return found


def _behaves_like(aid: str, task: Task, m: Mutant, wanted: dict[str, list[Failing]],
                  tols: dict[str, Tolerance], left: float) -> list[str]:
    """The checks of ``wanted`` on whose failing cases mutant ``m`` returns what the submission did."""
    from grader.quality import inprocess
    modules = dict(_sources(aid))
    file, _ = modules[m.module]
    modules[m.module] = (file, m.source)
    package = f"_near_miss_{next(PACKAGES)}"
    loaded = inprocess.FINDER.load(package, modules, label=" (mutant)")
    outputs: dict[int, dict] = {}
    matched = []
    try:
        with inprocess.time_limit(left, cpu=True), warnings.catch_warnings():
            warnings.simplefilter("ignore")  # a mutant's own deprecation warnings are nobody's concern
            for name, cases in wanted.items():
                for f in cases:
                    if f.case not in outputs:
                        response, _ = inprocess.run_case(task, loaded, f.inputs, 0)
                        outputs[f.case] = response.outputs or {}
                    out = outputs[f.case].get(name)
                    if type(out) is not torch.Tensor or out.shape != f.got.shape or \
                            not close(out.to(torch.float64), f.got.to(torch.float64), tols[name]):
                        break
                else:
                    matched.append(name)
    except inprocess.Timeout:
        return []
    except Exception:  # noqa: BLE001  (a mutant that crashes behaves like no submission that returned values)
        return matched
    finally:
        inprocess.FINDER.unload(package)
    return matched
