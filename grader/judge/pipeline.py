"""Grade a submission: make inputs from seeds, compute expected values with the reference,
run the submission in the sandbox, compare, and score. Everything that decides a grade is here.
"""
from __future__ import annotations

import datetime as dt
import importlib
import inspect
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import torch

from grader.sandbox import host as sandbox
from grader.sandbox import scan as banned
from grader.tasks import suites
from grader.judge.compare import Comparison, Tolerance, close, compare
from grader.course.config import AssignmentConfig, Course, late_penalty
from grader.results import AssignmentResult, CheckResult, GradingResult, TaskResult, points
from grader.tasks.model import Modules, Suite, Task, case_generator
from grader.tasks.trees import clone, leaf_tensors
from grader.sandbox.inside.wire import Foreign, dtype_name

OWN_GRADIENT_MAX_ELEMENTS = 400  # the self-consistency diagnosis runs 2 forwards per element


class GradingError(Exception):
    """Grading could not run at all (bad path, unknown assignment, suite and course.yaml disagree)."""


@dataclass(frozen=True)
class Case:
    suite: str   # public | hidden
    index: int   # within its suite
    inputs: dict[str, Any]

    @property
    def label(self) -> str:
        return f"{self.suite} case {self.index}"


def resolve_device(device: str) -> str:
    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if device == "cuda" and not torch.cuda.is_available():
        raise GradingError("--device cuda was asked for, but CUDA is not available here")
    if device not in ("cpu", "cuda"):
        raise GradingError(f"unknown device '{device}' (cpu, cuda or auto)")
    return device


def check_suite(course_assignment: AssignmentConfig, suite: Suite) -> None:
    """course.yaml and the suite module must name the same tasks, and the reference must define them."""
    configured = [t.id for t in course_assignment.tasks]
    declared = list(suite.tasks)
    missing = [t for t in configured if t not in suite.tasks]
    extra = [t for t in declared if t not in configured]
    if missing or extra:
        parts = ([f"no checks for {', '.join(missing)}"] if missing else []) + \
                ([f"not in course.yaml: {', '.join(extra)}"] if extra else [])
        raise GradingError(f"{course_assignment.id}: course.yaml and grader/suites disagree ({'; '.join(parts)})")


def make_cases(course: Course, task: Task, which: str) -> list[Case]:
    names = ("public", "hidden") if which == "all" else (which,)
    cases = []
    for name in names:
        cfg = course.suites[name]
        for i in range(cfg.cases):
            cases.append(Case(name, i, task.inputs(case_generator(cfg.seed, task.id, i), i)))
    return cases


def expected_outputs(task: Task, reference: Modules, inputs: dict) -> dict[str, torch.Tensor]:
    with torch.no_grad():
        out = task.run(reference, **clone(inputs))
    for name, value in out.items():
        if type(value) is not torch.Tensor:
            raise GradingError(f"reference {task.id} gave {type(value).__name__} for {name}")
    return out


def reference_signature(aid: str, task: Task) -> list[str]:
    fn = getattr(importlib.import_module(f"reference.{aid}.{task.module}"), task.function)
    return list(inspect.signature(fn).parameters)


def find_assignment_folder(submission: Path, aid: str) -> Path | None:
    if submission.name == aid and submission.is_dir() and not submission.is_symlink():
        return submission
    candidate = submission / aid
    return candidate if candidate.is_dir() and not candidate.is_symlink() else None  # a link could be the reference


def grade(submission: str | Path, course: Course, assignments: list[str] | None = None,
          suite: str = "public", device: str = "cpu", submitted_at: dt.datetime | None = None,
          progress: Callable[[str], None] | None = None, isolation: str = "auto",
          require_isolation: str | None = None, isolation_via: str = "auto") -> GradingResult:
    """Grade ``submission`` (a folder laid out like ``assignments/``, or one assignment's folder).

    ``isolation``: the sandbox level to use (``auto``: the strongest this machine gives);
    ``require_isolation``: refuse to grade below this level; ``isolation_via``: how the
    namespace layers are made (``auto``, ``root`` or ``user-namespace``).
    """
    if suite not in ("public", "hidden", "all"):
        raise GradingError(f"unknown suite '{suite}' (public, hidden or all)")
    path = Path(submission)
    if not path.is_dir():
        raise GradingError(f"no such folder: {path}")
    device = resolve_device(device)
    if device not in course.devices:
        raise GradingError(f"device '{device}' is not among course.yaml's devices ({', '.join(course.devices)})")
    selected = _select(course, path, assignments)
    try:
        iso = sandbox.choose(device, isolation, require_isolation, isolation_via)
    except sandbox.IsolationRefused as e:
        raise GradingError(f"grading refused: {e}") from None
    results, not_available = [], []
    for cfg in selected:
        if not cfg.available:
            not_available.append(cfg.id)
            continue
        if progress:
            progress(f"grading {cfg.id} ({len(cfg.tasks)} tasks, {suite} suite, {device})")
        result = grade_assignment(path, course, cfg, suite, device, iso)
        penalty = late_penalty(course.late_policy, cfg.deadline, submitted_at)
        if penalty:
            result.message = (result.message + " " if result.message else "") + \
                f"late: -{penalty:.0%} of the score under the late policy"
            result.score = points(result.score * (1 - penalty))
        results.append(result)
    return GradingResult(
        score=points(sum(a.score for a in results)), max_score=points(sum(a.max_score for a in results)),
        assignments=results, suite=suite, device=device, submission=path.name, not_available=not_available,
        late={"submitted_at": submitted_at.isoformat()} if submitted_at else None,
        graded_at=dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"), sandbox=iso.to_dict())


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


def grade_assignment(path: Path, course: Course, cfg: AssignmentConfig, which: str,
                     device: str, iso: sandbox.Isolation | None = None) -> AssignmentResult:
    suite = suites.load(cfg.id)
    check_suite(cfg, suite)
    folder = find_assignment_folder(path, cfg.id)
    if folder is None:
        tasks = [TaskResult(t.id, 0.0, t.points, "error",
                            [CheckResult("submission", False, message=f"folder {cfg.id}/ not found in the submission")])
                 for t in cfg.tasks]
        return AssignmentResult(cfg.id, 0.0, cfg.max_score, tasks, f"folder {cfg.id}/ not found in the submission")

    reference = Modules(f"reference.{cfg.id}")
    plans: dict[str, tuple[list[Case], list[dict[str, torch.Tensor]]]] = {}
    requests = []
    responses: dict[tuple[str, int], sandbox.Response] = {}
    for tcfg in cfg.tasks:
        task = suite.tasks[tcfg.id]
        cases = make_cases(course, task, which)
        expected = [expected_outputs(task, reference, c.inputs) for c in cases]
        plans[task.id] = (cases, expected)
        names = tuple(getattr(tcfg, "banned", ()))
        found = banned.scan(folder / f"{task.module}.py", task.function, names)
        for k, c in enumerate(cases):
            if found:  # caught before running: the task is not run at all
                responses[(task.id, k)] = sandbox.Response(task.id, k, "banned", message=found[0].describe())
                continue
            own = OWN_GRADIENT_MAX_ELEMENTS if (k == 0 and task.forward is not None) else 0
            requests.append(sandbox.Request(task.id, k, c.inputs, own, names))
    limits = {t.id: sandbox.Limits(t.limits.time_s, t.limits.memory_mb) for t in cfg.tasks}
    responses.update(sandbox.run_tasks(folder, cfg.id, requests, device, limits, iso))

    tasks = []
    for tcfg in cfg.tasks:
        task = suite.tasks[tcfg.id]
        cases, expected = plans[task.id]
        replies = [responses[(task.id, k)] for k in range(len(cases))]
        tasks.append(score_task(course, cfg.id, task, tcfg.points, cases, expected, replies, device))
    _note_failed_calls(suite, tasks)
    return AssignmentResult(cfg.id, points(sum(t.score for t in tasks)), points(cfg.max_score), tasks)


def score_task(course: Course, aid: str, task: Task, max_points: float, cases: list[Case],
               expected: list[dict[str, torch.Tensor]], replies: list[sandbox.Response],
               device: str) -> TaskResult:
    names: list[str] = []
    for e in expected:
        names.extend(n for n in e if n not in names)

    def kind(name: str) -> str:
        return "gradient" if name in task.grads else "property" if name == "inputs_unchanged" else "output"

    failed = next((r for r in replies if r.status != "ok"), None)
    if failed is not None:
        status = {"not_implemented": "not_implemented", "timeout": "timeout"}.get(failed.status, "error")
        message = failed.message
        if failed.status == "error" and failed.signature is not None:
            ref_sig = reference_signature(aid, task)
            if failed.signature != ref_sig:
                message += (f" (your {task.function}({', '.join(failed.signature)}) does not match the "
                            f"assignment's {task.function}({', '.join(ref_sig)}))")
        case = cases[replies.index(failed)]
        if status == "not_implemented":
            stub = message.strip()
            message = "not implemented yet" if stub in ("", task.id, "NotImplementedError") else \
                f"not implemented yet: {stub}" if stub.startswith(task.id) else \
                f"waits for {stub}, which is not implemented yet"
        else:
            message = f"{case.label}: {message}"
        checks = [CheckResult(n, False, message=message, kind=kind(n)) for n in names]
        feedback = "\n".join(s for s in (failed.traceback, failed.stdout) if s)
        return TaskResult(task.id, 0.0, points(max_points), status, checks, feedback[-4000:])

    checks = []
    for name in names:
        worst: Comparison | None = None
        first_fail: tuple[int, Comparison] | None = None
        max_abs = max_rel = 0.0
        for k, (exp, reply) in enumerate(zip(expected, replies)):
            if name not in exp:
                continue
            ref = exp[name]
            got = reply.outputs.get(name, Foreign("nothing", "no such output was returned"))
            rtol, atol = _tolerance(course, ref, device)
            c = compare(name, got, ref, Tolerance(rtol, atol))
            if c.max_abs_err is not None:
                max_abs = max(max_abs, c.max_abs_err)
                max_rel = max(max_rel, c.max_rel_err or 0.0)
            if not c.passed and first_fail is None:
                first_fail = (k, c)
            if worst is None or (c.max_abs_err or 0) >= (worst.max_abs_err or 0):
                worst = c
        if first_fail is None:
            checks.append(CheckResult(name, True, max_abs, max_rel, "", kind(name), worst.where if worst else None))
            continue
        k, c = first_fail
        if name == "inputs_unchanged":
            message = f"property: {cases[k].label}: {_modified_inputs(task, cases[k].inputs, replies[k].outputs.get(name))}"
            checks.append(CheckResult(name, False, None, None, message, "property", c.where))
            continue
        message = f"{'backward' if kind(name) == 'gradient' else 'forward'}: {cases[k].label}: {c.message}"
        if kind(name) == "gradient":
            message += _own_gradient_note(course, name, replies[0], device)
        checks.append(CheckResult(name, False, max_abs if c.max_abs_err is not None else None,
                                  max_rel if c.max_rel_err is not None else None, message, kind(name), c.where))
    # Outputs and gradients share the points; a property (inputs left unchanged) earns nothing on
    # its own, so returning garbage cannot collect it, but breaking one costs the whole task.
    graded = [c for c in checks if c.kind != "property"]
    properties_hold = all(c.passed for c in checks if c.kind == "property")
    score = max_points * sum(c.passed for c in graded) / len(graded) if graded and properties_hold else 0.0
    status = "passed" if checks and all(c.passed for c in checks) else "failed"
    feedback = next((r.stdout for r in replies if r.stdout), "")
    return TaskResult(task.id, points(score), points(max_points), status, checks, feedback[-4000:])


def _modified_inputs(task: Task, inputs: dict, flags: Any) -> str:
    """Name the inputs a function changed in place, from the per-input flags of ``keeps_inputs``."""
    paths = [p for p, _ in leaf_tensors(inputs)]
    advice = "(use out-of-place operations, or work on a .clone())"
    if type(flags) is torch.Tensor and flags.dtype == torch.bool and flags.shape == (len(paths),):
        changed = [p for p, ok in zip(paths, flags.tolist()) if not ok]
        if changed:
            return f"inputs_unchanged: {task.function} changed its input {', '.join(changed)} in place {advice}"
    if type(flags) is not torch.Tensor:
        return f"inputs_unchanged: expected a torch.Tensor, got {flags!r:.60}"
    return f"inputs_unchanged: {task.function} changed an input tensor in place {advice}"


def _note_failed_calls(suite: Suite, tasks: list[TaskResult]) -> None:
    """A task that fails while a task it calls fails too: say so, the cause is probably there."""
    by_id = {t.id: t for t in tasks}
    for t in tasks:
        if t.status not in ("failed", "error"):
            continue
        culprits = [c for c in suite.tasks[t.id].calls if c in by_id and by_id[c].status != "passed"]
        if culprits:
            which = "which fails its own checks" if len(culprits) == 1 else "which fail their own checks"
            note = f" (it calls {', '.join(culprits)}, {which})"
            for c in t.checks:
                if not c.passed:
                    c.message += note


def _tolerance(course: Course, ref: torch.Tensor, device: str) -> tuple[float, float]:
    name = dtype_name(ref.dtype)
    if not ref.is_floating_point():
        return 0.0, 0.0
    if name not in course.tolerances:
        name = "float32"
    return course.tolerance(name, device)


def _own_gradient_note(course: Course, name: str, first: sandbox.Response, device: str) -> str:
    """Say whether the student's backward is at least the gradient of the student's own forward."""
    own = first.own_gradient.get(name)
    got = first.outputs.get(name)
    if type(own) is not torch.Tensor or type(got) is not torch.Tensor or own.shape != got.shape:
        return ""
    finite_diff = Tolerance(1e-5, 1e-6) if got.dtype == torch.float64 else Tolerance(5e-2, 5e-3)
    if close(got, own, finite_diff):
        return " (it matches the gradient of your own forward, so the forward pass or its cache is wrong)"
    return " (your backward does not match the gradient of your own forward)"
