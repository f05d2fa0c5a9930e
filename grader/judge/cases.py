"""The cases a task is graded on: inputs from seeds the grader controls, and the reference's outputs.

Importing it imports no torch: :class:`GradingError` and the suites' task lists serve commands that
grade nothing (``grader validate``); torch comes with the first case planned.
"""
from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from grader.course.config import AssignmentConfig, Course
from grader.i18n import _
from grader.tasks import catalogue

if TYPE_CHECKING:
    import torch

    from grader.tasks.model import Modules, Suite, Task

SUITE_CHOICES = ("public", "hidden", "all")  # what a grading may ask for; "all" is both suites


class GradingError(Exception):
    """Grading could not run at all (bad path, unknown assignment, suite and course.yaml disagree)."""


@dataclass(frozen=True)
class Case:
    suite: str   # public | hidden
    index: int   # within its suite
    inputs: dict[str, Any]

    @property
    def label(self) -> str:
        return _("public case {index}", index=self.index) if self.suite == "public" else \
            _("hidden case {index}", index=self.index)


# By task id: its cases, and the reference's outputs on each (what the plan step of a grading makes).
CasesAndExpected = tuple[dict[str, list[Case]], dict[str, list[dict[str, Any]]]]


def suite_names(which: str) -> tuple[str, ...]:
    if which not in SUITE_CHOICES:
        raise GradingError(f"unknown suite '{which}' ({', '.join(SUITE_CHOICES[:-1])} or {SUITE_CHOICES[-1]})")
    return ("public", "hidden") if which == "all" else (which,)


def make_cases(course: Course, task: Task, which: str) -> list[Case]:
    from grader.tasks.model import case_generator

    cases = []
    for name in suite_names(which):
        if name not in course.suites:
            raise GradingError(f"{course.path} has no {name} suite (a student repository holds the public suite "
                               f"only: the hidden one stays with the course's instructors)")
        cfg = course.suites[name]
        for i in range(cfg.cases):
            cases.append(Case(name, i, task.inputs(case_generator(cfg.seed, task.id, i), i)))
    return cases


def computed_cases(course: Course, cfg: AssignmentConfig, suite: Suite, which: str) -> CasesAndExpected:
    """Each task's cases from the suites' seeds, and the reference's outputs on each (per task id)."""
    try:
        importlib.import_module(f"reference.{cfg.id}")
    except ModuleNotFoundError as e:
        if e.name not in ("reference", f"reference.{cfg.id}"):
            raise
        raise GradingError(f"no reference/{cfg.id} to compute the expected values from, and no frozen public "
                           f"cases beside {course.path} (a student repository holds them in fixtures/)") from None
    from grader.tasks.model import Modules

    reference = Modules(f"reference.{cfg.id}")
    cases: dict[str, list[Case]] = {}
    expected: dict[str, list[dict[str, torch.Tensor]]] = {}
    seeds = tuple((name, course.suites[name].seed, course.suites[name].cases) for name in suite_names(which))
    for tcfg in cfg.tasks:
        task = suite.tasks[tcfg.id]
        key = (cfg.id, task.id, seeds)
        if _remembered is not None and key in _remembered:
            cases[task.id], expected[task.id] = _remembered[key]
            continue
        cases[task.id] = make_cases(course, task, which)
        expected[task.id] = [expected_outputs(task, reference, c.inputs) for c in cases[task.id]]
        if _remembered is not None:
            _remembered[key] = cases[task.id], expected[task.id]
    return cases, expected


_remembered: dict[tuple, tuple[list[Case], list[dict[str, torch.Tensor]]]] | None = None


def remember_expected() -> None:
    """Keep each task's cases and the reference's outputs on them for the rest of this process.

    For a process that grades many submissions (a batch worker) or one again and again
    (``grader watch``): every grading uses the same cases, so the reference runs once per task.
    Keyed by assignment, task, and each suite's seed and number of cases; only read afterwards
    (the submission gets its inputs through the wire format, as copies)."""
    global _remembered
    if _remembered is None:
        _remembered = {}


def memory() -> dict[tuple, Any] | None:
    """What this process keeps of the cases it planned (None unless :func:`remember_expected` was called)."""
    return _remembered


def expected_outputs(task: Task, reference: Modules, inputs: dict) -> dict[str, torch.Tensor]:
    import torch

    from grader.tasks.trees import clone

    with torch.no_grad():
        out = task.run(reference, **clone(inputs))
    for name, value in out.items():
        if type(value) is not torch.Tensor:
            raise GradingError(f"reference {task.id} gave {type(value).__name__} for {name}")
    return out


def suite_tasks(assignment: str) -> list[str] | None:
    """The task ids the suite module of ``assignment`` declares, in order (None: it has none), from the
    suites' catalogue (:mod:`grader.tasks.catalogue`): once it was kept, no suite is imported (nor torch)."""
    return list(catalogue.load(assignment).tasks) if assignment in catalogue.available() else None


def suite_mismatches(course: Course, cfg: AssignmentConfig, tasks: list[str]) -> list[str]:
    """Where course.yaml and the suite module (its task ids ``tasks``) disagree on an assignment's tasks,
    each with its line."""
    configured = {t.id: t for t in cfg.tasks}
    where = f"{course.path}:{cfg.line}: {cfg.id}"
    problems = [f"{course.path}:{t.line}: {t.id}: no checks in grader/tasks/suites/{cfg.id}.py"
                for t in cfg.tasks if t.id not in tasks]
    extra = [t for t in tasks if t not in configured]
    if extra:
        problems.append(f"{where}: grader/tasks/suites/{cfg.id}.py checks tasks course.yaml does not list: "
                        f"{', '.join(extra)}")
    return problems


def check_suite(course: Course, cfg: AssignmentConfig, suite: Suite) -> None:
    """course.yaml and the suite module must name the same tasks."""
    problems = suite_mismatches(course, cfg, list(suite.tasks))
    if problems:
        raise GradingError("\n".join(problems))
