"""Grade a submission, as one list of steps per assignment: plan, scan, run, score, diagnose, penalise.

Inputs come from seeds; the reference gives the expected values; a runner (the sandbox by
default) runs the submission; everything that decides a grade happens here, in the parent.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import torch

from grader.course.config import AssignmentConfig, Course, TaskConfig
from grader.course.policy import late_penalty
from grader.judge import diagnose
from grader.judge.cases import Case, GradingError, check_suite, expected_outputs, make_cases, suite_names
from grader.judge.scoring import score_task
from grader.results import (AssignmentError, AssignmentResult, CheckResult, GradingResult, Late, RunStatus, Status,
                            TaskResult, points)
from grader.sandbox import host, scan
from grader.sandbox.runner import Key, Request, Response, Runner
from grader.tasks import suites
from grader.tasks.model import Modules, Suite, Task

OWN_GRADIENT_MAX_ELEMENTS = 400  # the self-consistency diagnosis runs 2 forwards per element

__all__ = ["GradingError", "grade", "grade_assignment", "resolve_device", "find_assignment_folder"]


def resolve_device(device: str) -> str:
    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if device == "cuda" and not torch.cuda.is_available():
        raise GradingError("--device cuda was asked for, but CUDA is not available here")
    if device not in ("cpu", "cuda"):
        raise GradingError(f"unknown device '{device}' (cpu, cuda or auto)")
    return device


def find_assignment_folder(submission: Path, aid: str) -> Path | None:
    if submission.name == aid and submission.is_dir() and not submission.is_symlink():
        return submission
    candidate = submission / aid
    return candidate if candidate.is_dir() and not candidate.is_symlink() else None  # a link could be the reference


def grade(submission: str | Path, course: Course, assignments: list[str] | None = None,
          suite: str = "public", device: str = "cpu", submitted_at: dt.datetime | None = None,
          progress: Callable[[str], None] | None = None, isolation: str = "auto",
          require_isolation: str | None = None, isolation_via: str = "auto",
          runner: Runner | None = None) -> GradingResult:
    """Grade ``submission`` (a folder laid out like ``assignments/``, or one assignment's folder).

    ``runner`` runs the submission's code (default: the sandbox at the strongest level this
    machine gives). For the sandbox: ``isolation`` is the level to use (``auto``: the strongest);
    ``require_isolation`` refuses to grade below a level; ``isolation_via`` is how the namespace
    layers are made (``auto``, ``root`` or ``user-namespace``).
    """
    suite_names(suite)
    path = Path(submission)
    if not path.is_dir():
        raise GradingError(f"no such folder: {path}")
    device = resolve_device(device)
    if device not in course.devices:
        raise GradingError(f"device '{device}' is not among course.yaml's devices ({', '.join(course.devices)})")
    selected = _select(course, path, assignments)
    sandbox_info = None
    if runner is None:
        try:
            iso = host.choose(device, isolation, require_isolation, isolation_via)
        except host.IsolationRefused as e:
            raise GradingError(f"grading refused: {e}") from None
        runner, sandbox_info = host.SandboxRunner(device, iso), iso.info()
    results, not_available = [], []
    for cfg in selected:
        if not cfg.available:
            not_available.append(cfg.id)
            continue
        if progress:
            progress(f"grading {cfg.id} ({len(cfg.tasks)} tasks, {suite} suite, {device})")
        result = grade_assignment(path, course, cfg, suite, device, runner)
        penalise(result, late_penalty(course.late_policy, cfg.deadline, submitted_at))
        results.append(result)
    return GradingResult(
        score=points(sum(a.score for a in results)), max_score=points(sum(a.max_score for a in results)),
        assignments=results, suite=suite, device=device, submission=path.name, not_available=not_available,
        late=Late(submitted_at.isoformat()) if submitted_at else None,
        graded_at=dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"), sandbox=sandbox_info)


def _select(course: Course, path: Path, assignments: list[str] | None) -> list[AssignmentConfig]:
    if assignments:
        chosen = []
        for key in assignments:
            try:
                chosen.append(course.assignment(key))
            except KeyError:
                raise GradingError(f"unknown assignment '{key}' (see course.yaml)") from None
        return chosen
    single = [a for a in course.assignments if a.id == path.name]
    return single or list(course.assignments)


@dataclass
class Plan:
    """One assignment's grading, built step by step."""

    cfg: AssignmentConfig
    suite: Suite
    folder: Path
    cases: dict[str, list[Case]] = field(default_factory=dict)                     # per task
    expected: dict[str, list[dict[str, torch.Tensor]]] = field(default_factory=dict)
    responses: dict[Key, Response] = field(default_factory=dict)
    requests: list[Request] = field(default_factory=list)

    def task(self, tcfg: TaskConfig) -> Task:
        return self.suite.tasks[tcfg.id]


def grade_assignment(path: Path, course: Course, cfg: AssignmentConfig, which: str, device: str,
                     runner: Runner) -> AssignmentResult:
    suite = suites.load(cfg.id)
    check_suite(course, cfg, suite)
    folder = find_assignment_folder(path, cfg.id)
    if folder is None:
        return _not_found(cfg)
    plan = Plan(cfg, suite, folder)
    make_plan(plan, course, which)
    scan_banned(plan)
    run(plan, runner)
    tasks = score(plan, course, device)
    diagnose.note_failed_calls(suite, tasks)
    return AssignmentResult(cfg.id, points(sum(t.score for t in tasks)), points(cfg.max_score), tasks)


def make_plan(plan: Plan, course: Course, which: str) -> None:
    """Cases from the suites' seeds, and the reference's outputs on each."""
    reference = Modules(f"reference.{plan.cfg.id}")
    for tcfg in plan.cfg.tasks:
        task = plan.task(tcfg)
        plan.cases[task.id] = make_cases(course, task, which)
        plan.expected[task.id] = [expected_outputs(task, reference, c.inputs) for c in plan.cases[task.id]]


def scan_banned(plan: Plan) -> None:
    """The static banned-operation scan: a task caught here is not run at all; the rest become requests."""
    for tcfg in plan.cfg.tasks:
        task = plan.task(tcfg)
        found = scan.scan(plan.folder / f"{task.module}.py", task.function, tcfg.banned)
        for k, c in enumerate(plan.cases[task.id]):
            if found:
                plan.responses[(task.id, k)] = Response(task.id, k, RunStatus.BANNED, message=found[0].describe())
                continue
            own = OWN_GRADIENT_MAX_ELEMENTS if (k == 0 and task.forward is not None) else 0
            plan.requests.append(Request(task.id, k, c.inputs, own, tcfg.banned))


def run(plan: Plan, runner: Runner) -> None:
    limits = {t.id: t.limits for t in plan.cfg.tasks}
    plan.responses.update(runner.run(plan.folder, plan.cfg.id, plan.requests, limits))


def score(plan: Plan, course: Course, device: str) -> list[TaskResult]:
    tasks = []
    for tcfg in plan.cfg.tasks:
        task = plan.task(tcfg)
        replies = [plan.responses[(task.id, k)] for k in range(len(plan.cases[task.id]))]
        tasks.append(score_task(course, plan.cfg.id, task, tcfg.points, plan.cases[task.id],
                                plan.expected[task.id], replies, device))
    return tasks


def penalise(result: AssignmentResult, penalty: float) -> None:
    """Apply the late policy's penalty (a fraction of the score), and say so."""
    if not penalty:
        return
    result.late_penalty = penalty
    result.message = (result.message + " " if result.message else "") + \
        f"late: -{penalty:.0%} of the score under the late policy"
    result.score = points(result.score * (1 - penalty))


def _not_found(cfg: AssignmentConfig) -> AssignmentResult:
    message = f"folder {cfg.id}/ not found in the submission"
    tasks = [TaskResult(t.id, 0.0, t.points, Status.ERROR, [CheckResult("submission", False, message=message)])
             for t in cfg.tasks]
    return AssignmentResult(cfg.id, 0.0, cfg.max_score, tasks, message, AssignmentError.FOLDER_MISSING)
