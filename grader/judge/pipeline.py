"""Grade a submission, as one list of steps per assignment: plan, scan, run, score, run again for own
gradients, diagnose, penalise.

Inputs come from seeds; the reference gives the expected values; the runner the caller gives (the
sandbox, :func:`grader.sandbox.session.runner_for`) runs the submission; everything that decides a
grade happens here, in the parent.

A grading whose expected values are in the cache (:mod:`grader.judge.expected_cache`, or a student
repository's frozen fixtures) and whose submission passes imports no torch in this process: the tasks
are known from :mod:`grader.tasks.catalogue`, values are compared as numpy arrays
(:mod:`grader.tasks.arrays`), and torch is loaded here only to compute expected values the cache does
not hold and to diagnose a failed check.
"""
from __future__ import annotations

import contextvars
import dataclasses
import datetime as dt
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Mapping

from grader.course.config import AssignmentConfig, Course, SelectionError, TaskConfig
from grader.course.policy import late_penalty, tolerance
from grader.judge import diagnose, expected_cache, fixtures, scanning
from grader.judge.cases import Case, GradingError, check_suite, suite_names
from grader.judge.compare import Tolerance, compare
from grader.i18n import _, ngettext
from grader.judge.scoring import score_task
from grader.judge.submission import assignment_named, open_submission
from grader.results import (AssignmentError, AssignmentResult, CheckKind, CheckResult, GradingResult, Late,
                            RunStatus, Status, TaskResult, points)
from grader.sandbox.runner import Budget, Key, Request, Response, Runner
from grader.tasks import catalogue
from grader.tasks.arrays import Array, of
from grader.tasks.catalogue import SuiteInfo, TaskInfo

if TYPE_CHECKING:
    from grader.tasks.model import Suite, Task

OWN_GRADIENT_MAX_ELEMENTS = 400  # the self-consistency diagnosis runs 2 forwards per element

__all__ = ["GradingError", "grade", "grade_assignment"]


def grade(submission: str | Path, course: Course, assignments: list[str] | None = None,
          suite: str = "public", device: str = "cpu",
          submitted_at: dt.datetime | Mapping[str, dt.datetime] | None = None,
          progress: Callable[[str], None] | None = None, *, runner: Runner,
          tasks: set[str] | None = None, jobs: int = 1, every: bool = False) -> GradingResult:
    """Grade ``submission``: a folder laid out like ``assignments/``, one assignment's folder, either
    of them one level down (a repository), or a .zip of any of these; a notebook (``.ipynb``) stands
    in for an assignment's ``.py`` files (:mod:`grader.judge.submission`).

    ``runner`` runs the submission's code: the sandbox for students' code
    (:func:`grader.sandbox.session.runner_for`, which chooses its isolation level), whose isolation
    the result reports. ``device``: as :meth:`grader.course.config.Course.device` takes it; a runner
    made for ``auto`` runs on the device it resolves to. ``tasks``: grade only these task
    ids (default: all); the others are not planned, run or reported. ``jobs``: how many assignments
    are graded at once (each in its own sandboxed child; the grader's side of one overlaps the
    children of the others); the report is the same, in course order. Without ``assignments``, the
    available assignments the submission holds are graded and the others listed as not handed in
    (``not_handed_in``, outside the total); ``every`` grades them all, the absent ones at zero.
    """
    suite_names(suite)
    fixtures.require_public(course, suite)
    path = Path(submission)
    try:
        device = course.device(device)
    except SelectionError as e:
        raise GradingError(str(e)) from None
    selected = _select(course, path, assignments)
    unknown = set(tasks or ()) - {t.id for a in selected for t in a.tasks}
    if unknown:
        raise GradingError(_("no such task in the assignments graded: {tasks}", tasks=", ".join(sorted(unknown))))
    available = [a for a in selected if a.available]
    files = {a.id: sorted({t.module for t in catalogue.load(a.id).tasks.values()}) for a in available}
    with open_submission(path, available, bool(assignments), files) as located:
        absent = [] if assignments or every else \
            [a.id for a in available if located.folders[a.id] is None and a.id not in located.problems]
        available = [a for a in available if a.id not in absent]
        whole = Budget(time.monotonic() + course.budgets.submission_s, "submission", course.budgets.submission_s)

        def one(cfg: AssignmentConfig) -> AssignmentResult:
            if progress:
                progress(f"grading {cfg.id} ({len(cfg.tasks)} tasks, {suite} suite, {device})")
            result = grade_assignment(located.folders[cfg.id], course, cfg, suite, device, runner, whole, tasks,
                                      located.problems.get(cfg.id))
            if cfg.id in located.notes:  # graded from a notebook: say so, and what of it was run
                result.message = "; ".join(m for m in (located.notes[cfg.id], result.message) if m)
            penalise(result, late_penalty(course.late_policy, cfg.deadline, time_of(submitted_at, cfg.id)))
            return result

        if jobs > 1 and len(available) > 1:
            context = contextvars.copy_context()  # each thread grades in the caller's language (grader.i18n)
            with ThreadPoolExecutor(min(jobs, len(available)), thread_name_prefix="grade") as pool:
                results = list(pool.map(lambda cfg: context.copy().run(one, cfg), available))
        else:
            results = [one(cfg) for cfg in available]
    return GradingResult(
        score=points(sum(a.score for a in results)), max_score=points(sum(a.max_score for a in results)),
        assignments=results, suite=suite, device=device, submission=path.name,
        not_available=[a.id for a in selected if not a.available], not_handed_in=absent,
        late=_late(submitted_at, [a.id for a in results]),
        graded_at=dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"), sandbox=runner.sandbox)


def time_of(submitted_at: dt.datetime | Mapping[str, dt.datetime] | None, aid: str) -> dt.datetime | None:
    """When assignment ``aid`` was handed in: one time for all, or each assignment's own (nbgrader's)."""
    return submitted_at.get(aid) if isinstance(submitted_at, Mapping) else submitted_at


def _late(submitted_at: dt.datetime | Mapping[str, dt.datetime] | None, ids: list[str]) -> Late | None:
    """The time the late policy was applied to: the one given, or the latest of the assignments graded."""
    times = [t for t in (time_of(submitted_at, aid) for aid in ids) if t is not None]
    return Late(max(times).isoformat()) if times else None


def _select(course: Course, path: Path, assignments: list[str] | None) -> list[AssignmentConfig]:
    if assignments:
        try:
            return [cfg for cfg, _ in course.select(assignments)]
        except SelectionError as e:
            raise GradingError(str(e)) from None
    named = assignment_named(path, [a.id for a in course.assignments])
    single = [a for a in course.assignments if a.id == named]
    return single or list(course.assignments)


@dataclass
class AssignmentGrading:
    """One assignment's grading, built step by step: its cases, what the runner was asked and answered."""

    cfg: AssignmentConfig
    suite: SuiteInfo | Suite  # what the tasks are (a loaded suite where the caller has one: the audit)
    folder: Path
    cases: dict[str, list[Case]] = field(default_factory=dict)                     # per task
    expected: dict[str, list[dict[str, Any]]] = field(default_factory=dict)  # Arrays (or torch's, the audit's)
    responses: dict[Key, Response] = field(default_factory=dict)
    requests: list[Request] = field(default_factory=list)

    def task(self, tcfg: TaskConfig) -> TaskInfo | Task:
        return self.suite.tasks[tcfg.id]


def grade_assignment(folder: Path | None, course: Course, cfg: AssignmentConfig, which: str, device: str,
                     runner: Runner, submission_budget: Budget | None = None,
                     tasks: set[str] | None = None,
                     problem: tuple[AssignmentError, str] | None = None) -> AssignmentResult:
    """Grade one assignment's ``folder`` (None: the submission has none); only ``tasks`` when given.
    ``problem``: why what was handed in for it cannot be graded (a notebook that cannot be read)."""
    suite = catalogue.load(cfg.id)
    check_suite(course, cfg, suite)
    if tasks is not None:
        cfg = dataclasses.replace(cfg, tasks=tuple(t for t in cfg.tasks if t.id in tasks))
    if folder is None or problem is not None:
        return _not_found(cfg, problem)
    grading = AssignmentGrading(cfg, suite, folder)
    plan_cases(grading, course, which)
    scan_files(grading)
    budget = assignment_budget(course, submission_budget)
    tasks = run_and_score(grading, course, device, runner, budget)
    noted = rerun_for_own_gradients(grading, runner, budget, tasks)
    if noted:
        tasks = score(grading, course, device, tasks, noted)
    near_misses(grading, course, device, tasks)
    diagnose.note_failed_calls(suite, tasks)
    ran_out = budget.what if any(r.status == RunStatus.OUT_OF_BUDGET for r in grading.responses.values()) else None
    result = AssignmentResult(cfg.id, points(sum(t.score for t in tasks)), points(cfg.max_score), tasks,
                              ran_out=ran_out)
    modules = sorted({t.module for t in suite.tasks.values()})
    if not any((folder / f"{m}.py").is_file() for m in modules):  # nothing of it: one line, not one per task
        result.error = AssignmentError.FILES_MISSING
        result.message = _missing(folder, modules)
    return result


def assignment_budget(course: Course, submission: Budget | None) -> Budget:
    """The assignment's wall clock from now, or what is left of the submission's where that ends first."""
    own = Budget(time.monotonic() + course.budgets.assignment_s, "assignment", course.budgets.assignment_s)
    return submission if submission is not None and submission.deadline < own.deadline else own


def plan_cases(grading: AssignmentGrading, course: Course, which: str) -> None:
    """Cases from the suites' seeds, and the reference's outputs on each; in a student repository,
    which has no reference, the public cases and outputs frozen beside its course.yaml. Everything
    after this step is the same either way."""
    if fixtures.present(course):
        grading.cases, grading.expected = fixtures.read(course, grading.cfg, which)
    else:  # the instructor's cache holds them once computed (expected_cache)
        grading.cases, grading.expected = expected_cache.planned(course, grading.cfg, which)


def scan_files(grading: AssignmentGrading) -> None:
    """Read the submission before running it: a task whose file is missing, or whose code uses a
    banned operation, is not run at all; the rest become requests."""
    missing = {t.module: _missing(grading.folder, [t.module]) for t in grading.suite.tasks.values()
               if not (grading.folder / f"{t.module}.py").is_file()}
    tasks = [(tcfg, grading.task(tcfg)) for tcfg in grading.cfg.tasks]
    found = scanning.first_findings(grading.folder, [
        (task.module, task.function, () if task.module in missing else tuple(tcfg.banned)) for tcfg, task in tasks])
    for (tcfg, task), said in zip(tasks, found):
        for k, c in enumerate(grading.cases[task.id]):
            if task.module in missing:
                grading.responses[(task.id, k)] = Response(task.id, k, RunStatus.ERROR, message=missing[task.module],
                                                        before_run=True)
            elif said is not None:
                grading.responses[(task.id, k)] = Response(task.id, k, RunStatus.BANNED, message=said)
            else:
                grading.requests.append(Request(task.id, k, c.inputs, 0, tcfg.banned, task.module, task.calls))


def _missing(folder: Path, modules: list[str]) -> str:
    """That these modules' files are not there, and what to do about it."""
    names = [f"{m}.py" for m in modules]
    listed = names[0] if len(names) == 1 else _("{first} and {last}", first=", ".join(names[:-1]), last=names[-1])
    message = ngettext("{files} is missing from {folder}/", "{files} are missing from {folder}/", len(names),
                       files=listed, folder=folder.name)
    notebooks = sorted(p.name for p in folder.glob("*.ipynb"))
    if notebooks:
        message += _(" (it holds {notebook}: the grader reads .py files; run the notebook's cells that write them, or "
                     "save your functions in {files})", notebook=notebooks[0], files=listed)
    return message


def run(grading: AssignmentGrading, runner: Runner, budget: Budget | None) -> None:
    limits = {t.id: t.limits for t in grading.cfg.tasks}
    grading.responses.update(runner.run(grading.folder, grading.cfg.id, grading.requests, limits, budget))


def run_and_score(grading: AssignmentGrading, course: Course, device: str, runner: Runner,
                  budget: Budget | None = None) -> list[TaskResult]:
    """Run a grading's requests and score every task of it: each task's result before any diagnosis. The
    grading of a submission goes on to diagnose; the audit's verdict on a mutant or an alternative
    needs only this."""
    run(grading, runner, budget)
    return score(grading, course, device)


def rerun_for_own_gradients(grading: AssignmentGrading, runner: Runner, budget: Budget,
                            tasks: list[TaskResult]) -> set[str]:
    """Run again, asking for the gradient of the student's own forward, the one case where each
    failed gradient check of a backward task failed first: its diagnosis then says whether the
    backward or the forward is wrong. Only failures pay for it (two forwards per element, up to
    :data:`OWN_GRADIENT_MAX_ELEMENTS` per tensor). It never changes a score: what this run answers
    is used only for that note, and a case that does not answer again gets no note. Returns the
    tasks that got a note."""
    by_key = {(r.task, r.case): r for r in grading.requests}
    wanted: dict[Key, Request] = {}
    for t in tasks:
        task = grading.suite.tasks[t.id]
        if not _has_forward(task):
            continue
        at = {(case.suite, case.index): k for k, case in enumerate(grading.cases[t.id])}
        for c in t.checks:
            if c.kind != CheckKind.GRADIENT or c.passed or (c.suite, c.case) not in at:
                continue
            key = (t.id, at[(c.suite, c.case)])
            if key in by_key and grading.responses[key].status == RunStatus.OK:
                wanted[key] = dataclasses.replace(by_key[key], own_gradient=OWN_GRADIENT_MAX_ELEMENTS)
    if not wanted or time.monotonic() >= budget.deadline:
        return set()
    limits = {t.id: t.limits for t in grading.cfg.tasks}
    again = runner.run(grading.folder, grading.cfg.id, list(wanted.values()), limits, budget)
    noted = set()
    for key, response in again.items():
        if key in wanted and response.status == RunStatus.OK and response.own_gradient:
            grading.responses[key] = dataclasses.replace(grading.responses[key], own_gradient=response.own_gradient)
            noted.add(key[0])
    return noted


def _has_forward(task: TaskInfo | Task) -> bool:
    return task.has_forward if isinstance(task, TaskInfo) else task.forward is not None


def near_misses(grading: AssignmentGrading, course: Course, device: str, tasks: list[TaskResult]) -> None:
    """For a failed check whose numbers fit no relation: which of the reference's one-edit mutants
    behaves like the submission (:mod:`grader.judge.near_miss`), within about a second per task. Not
    for a task whose called tasks fail too (the cause is there), nor where the reference is absent."""
    if all(t.status != Status.FAILED for t in tasks):
        return
    from grader.judge import near_miss  # torch, the reference and the mutation code: for a failure only
    from grader.tasks import suites

    if not near_miss.available(grading.cfg.id):
        return
    failed = {t.id for t in tasks if t.status != Status.PASSED}
    for t in tasks:
        task = grading.suite.tasks[t.id]
        if t.status != Status.FAILED or failed & set(task.calls):
            continue
        failing: dict[str, list[near_miss.Failing]] = {}
        tols: dict[str, Tolerance] = {}
        for c in t.checks:
            if c.passed or c.kind == CheckKind.PROPERTY or any(not d.kind.is_location for d in c.diagnoses):
                continue
            for k, case in enumerate(grading.cases[t.id]):
                ref = grading.expected[t.id][k].get(c.name)
                response = grading.responses[(t.id, k)]
                got = of(response.outputs.get(c.name)) if response.status == RunStatus.OK else None
                if ref is None or type(got) is not Array:
                    continue
                tols[c.name] = Tolerance(*tolerance(course, ref, device))
                if not compare(c.name, got, ref, tols[c.name]).passed:
                    failing.setdefault(c.name, []).append(near_miss.Failing(k, case.inputs, got))
        found = near_miss.diagnose(grading.cfg.id, suites.load(grading.cfg.id).tasks[t.id], failing, tols) \
            if failing else {}
        for c in t.checks:
            c.diagnoses[:0] = found.get(c.name, [])


def score(grading: AssignmentGrading, course: Course, device: str, before: list[TaskResult] | None = None,
          only: set[str] | None = None) -> list[TaskResult]:
    """Every task's result from the responses; with ``only``, just those tasks again, the rest kept
    from ``before``."""
    tasks = []
    for i, tcfg in enumerate(grading.cfg.tasks):
        if only is not None and before is not None and tcfg.id not in only:
            tasks.append(before[i])
            continue
        task = grading.task(tcfg)
        replies = [grading.responses[(task.id, k)] for k in range(len(grading.cases[task.id]))]
        result = score_task(course, grading.cfg.id, task, tcfg.points, grading.cases[task.id],
                            grading.expected[task.id], replies, device)
        result.time_s = round(sum(r.time_s for r in replies), 3)
        tasks.append(result)
    return tasks


def penalise(result: AssignmentResult, penalty: float) -> None:
    """Apply the late policy's penalty (a fraction of the score), and say so."""
    if not penalty:
        return
    result.late_penalty = penalty
    result.message = (result.message + " " if result.message else "") + \
        _("late: -{penalty} of the score under the late policy", penalty=format(penalty, ".0%"))
    result.score = points(result.score * (1 - penalty))


def _not_found(cfg: AssignmentConfig, problem: tuple[AssignmentError, str] | None = None) -> AssignmentResult:
    error, message = problem or (AssignmentError.FOLDER_MISSING,
                                 _("folder {aid}/ not found in the submission", aid=cfg.id))
    tasks = [TaskResult(t.id, 0.0, t.points, Status.ERROR, [CheckResult("submission", False, message=message)])
             for t in cfg.tasks]
    return AssignmentResult(cfg.id, 0.0, cfg.max_score, tasks, message, error)
