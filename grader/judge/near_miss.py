"""The reference's own near misses: which one-edit mutant of the solution behaves like the submission.

Where a failed check's numbers fit none of the relations of :mod:`grader.judge.hypotheses`, mutants of
the task's own solution block run on the check's failing cases, in this process (the reference is the
course's own code): first the misconceptions declared for the task (:mod:`grader.quality.misconceptions`:
gates in another order, a mask ignored, the scaling left out, ...), then the classic mistakes no one-token
edit makes (an activation's derivative for another's, a range counted from one, two indices swapped),
then the one-token edits of :mod:`grader.quality.mutate` (a flipped sign, a term or a statement left out,
another axis, a range off by one, a transpose, a comparison reversed, arguments swapped, ..., another
variable last). Each mutant carries the kind of mistake its edit is, where one kind fits it (the others
are not tried). A mutant whose output agrees with what the submission returned, within the check's
tolerance, on every failing case tried and on two at least, names the kind; the first that fits is said,
a declared misconception in its own words, any other by its kind. The text names the mistake, never the
solution's code.

Costs only failures: at most :data:`MAX_MUTANTS` mutants and :data:`BUDGET_S` of this process's CPU time
per failed task (CPU rather than wall clock, so a loaded machine tries the same mutants and says the
same), in the grader's main thread (the time limit on a mutant that loops is a signal); elsewhere (a
thread of ``--jobs``) and where the reference is not at hand (a student repository) it is skipped.
"""
from __future__ import annotations

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
from grader.i18n import N_, _
from grader.judge.compare import Tolerance, close
from grader.results import Diagnosis, DiagnosisKind as K
from grader.tasks.arrays import Array, of, to_torch, tree_to_torch
from grader.tasks.model import Task

if TYPE_CHECKING:
    from grader.quality.mutate import Mutant

MAX_MUTANTS = 2000  # tried per failed task at most, the likeliest first (the CPU budget ends most searches first)
BUDGET_S = 1.0     # CPU seconds per failed task: the same mutants are tried however loaded the machine is
MAX_CASES = 3

WORDS = {
    K.SIGN: N_("it behaves like the solution with one sign flipped"),
    K.MISSING_TERM: N_("it behaves like the solution with one term or step left out"),
    K.AXIS: N_("it behaves like the solution with one operation taken along another axis"),
    K.OFF_BY_ONE: N_("it behaves like the solution with one range or slice off by one"),
    K.TRANSPOSE: N_("it behaves like the solution with a transpose added or left out, or two indices swapped"),
    K.KEEPDIM: N_("it behaves like the solution with a kept dimension dropped"),
    K.MASK: N_("it behaves like the solution with one comparison (a mask or threshold) reversed"),
    K.WRONG_INPUT: N_("it behaves like the solution with one value used in place of another (the wrong input)"),
    K.IN_PLACE: N_("it behaves like the solution with a value updated in place"),
    K.SCALE: N_("it behaves like the solution with a sum and a mean swapped"),
    K.ACTIVATION: N_("it behaves like the solution with an activation's derivative replaced by another's, or left out"),
}
ORDER = ("declared", "misconception", "sign", "term", "delete", "axis", "off-by-one", "transpose", "keepdim", "reduction",
         "compare", "swap", "arith", "in-place", "variable")  # the likeliest first: the budget may end the search
PACKAGES = itertools.count()


@dataclass(frozen=True)
class Failing:
    """A failing case of one check: the case's index and inputs, and what the submission returned."""

    case: int
    inputs: dict
    got: torch.Tensor | Array  # as a check compared it (torch's for the mutants' runs)


@functools.lru_cache(maxsize=64)
def _mutants(aid: str, module: str) -> dict[str, list[Mutant]]:
    """The mutants of one file of the assignment's reference, by task, the likeliest operators first."""
    from grader.quality import misconceptions, mutate
    path = paths.REFERENCE / aid / (module.replace(".", "/") + ".py")
    file = path.relative_to(paths.REFERENCE / aid).as_posix()
    prefix = aid.split("_", 1)[0]
    operators = tuple(sorted(mutate.OPERATORS + mutate.EXTRA_OPERATORS, key=_rank))
    found = misconceptions.mutants_in(prefix, file, module) + \
        mutate.mutants_of_file(path.read_text(encoding="utf-8"), prefix, file, module, operators)
    by_task: dict[str, list[Mutant]] = {}
    for m in sorted(found, key=lambda m: _rank(m.operator)):
        if m.kind is not None:
            by_task.setdefault(m.task, []).append(m)
    return by_task


def _rank(operator: str) -> int:
    """Where an operator's mutants come in the search (and which operator keeps an edit two of them make)."""
    return ORDER.index(operator) if operator in ORDER else len(ORDER)


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
    wanted = {name: [Failing(f.case, tree_to_torch(f.inputs), to_torch(of(f.got))) for f in cases
                     if type(of(f.got)) is Array][:MAX_CASES] for name, cases in failing.items()}
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
            assert m.kind is not None  # a declared misconception is said in its own words
            words = m.description if m.operator == "declared" else WORDS[m.kind]  # the catalogue holds both
            found[name] = [Diagnosis(m.kind, _(words))]  # the likeliest edit that fits: the first found
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
