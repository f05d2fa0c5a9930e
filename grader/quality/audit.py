"""Audit the grading suites: do they fail wrong answers (mutants) and pass right ones (alternatives)?

For every available assignment, each mutant of the reference (``grader.mutate``) is graded
against its task's suite with the grader's own cases, expected values, comparisons and
scores (``grader.grade``). Mutants are generated from trusted code, so they run in-process
(in a pool of forked workers) instead of the sandbox; inputs and outputs still pass through
the wire format, so a mutant sees exactly what a sandboxed submission sees.

A mutant that loses points is killed. One that keeps full marks is run again on extra seeds:
if its outputs (and whatever it did to its inputs) match the reference's on all of them it is
reported as suspected-equivalent, otherwise it survived and shows a gap in the suite.

Alternative implementations live in ``tests/alternatives/<aid>/``: each file there holds
functions that replace the same-named ones of the reference module with the same file name
(loops instead of vectorised code, another order of operations). They must score full marks.
"""
from __future__ import annotations

import ast
import contextlib
import importlib.abc
import importlib.util
import itertools
import json
import multiprocessing
import os
import signal
import sys
import threading
import time
import warnings
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable

import torch

from grader import paths
from grader.sandbox import scan as banned
from grader.sandbox.inside import guard, wire
from grader.tasks import suites
from grader.judge.compare import Tolerance, compare
from grader.course.config import AssignmentConfig, Course, TaskConfig
from grader.judge.pipeline import Case, GradingError, _tolerance, check_suite, expected_outputs, make_cases, score_task
from grader.quality.mutate import OPERATORS, Mutant, mutants
from grader.sandbox.host import Response
from grader.tasks.model import Modules, Suite, Task, case_generator

ALTERNATIVES = paths.ROOT / "tests" / "alternatives"
EXTRA_SEEDS = 20            # extra cases a surviving mutant must match to be called equivalent
EXTRA_SEED = 1_234_577      # their suite seed: neither the public nor the hidden one
MIN_TIMEOUT_S = 5.0         # a mutant's time limit: this, or 20x the reference's time if longer
DEFAULT_FAIL_UNDER = 95.0


@dataclass
class MutantOutcome:
    task: str
    file: str
    line: int
    operator: str
    description: str
    status: str   # killed | survived | equivalent
    how: str      # killed: what failed; survived: where it differs from the reference
    diff: str


@dataclass
class Counts:
    """Mutant verdicts of a task or of a whole assignment."""

    id: str
    killed: int = 0
    survived: int = 0
    equivalent: int = 0
    kill_rate: float = 100.0
    killed_by_error: int = 0  # of the killed: the mutant raised or timed out, rather than gave wrong values

    def add(self, other: Counts) -> None:
        """Count ``other``'s verdicts in too, and work the kill rate out again."""
        self.killed += other.killed
        self.survived += other.survived
        self.equivalent += other.equivalent
        self.killed_by_error += other.killed_by_error
        self.kill_rate = kill_rate(self.killed, self.survived)


@dataclass
class TaskAudit(Counts):
    survivors: list[MutantOutcome] = field(default_factory=list)
    equivalents: list[MutantOutcome] = field(default_factory=list)


@dataclass
class AlternativeAudit:
    files: list[str]            # files under tests/alternatives/<aid>/
    tasks: list[str]            # tasks whose function an alternative replaces
    false_failures: list[str]   # "task: message" for each task that lost points


@dataclass
class AssignmentAudit(Counts):
    tasks: list[TaskAudit] = field(default_factory=list)
    alternatives: AlternativeAudit | None = None

    @property
    def ok(self) -> bool:
        return self.alternatives is None or not self.alternatives.false_failures


def kill_rate(killed: int, survived: int) -> float:
    """Killed mutants as a percentage of the non-equivalent ones (100 when there are none)."""
    return round(100.0 * killed / (killed + survived), 2) if killed + survived else 100.0


class _SourceFinder(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Imports packages from source text held in memory: ``{package: {module: (file, source)}}``."""

    def __init__(self) -> None:
        self.packages: dict[str, dict[str, tuple[str, str]]] = {}

    def find_spec(self, fullname: str, path: Any, target: Any = None):
        root, _, rest = fullname.partition(".")
        modules = self.packages.get(root)
        if modules is None:
            return None
        is_package = rest == "" or any(k.startswith(rest + ".") for k in modules)
        if rest not in modules and not is_package:
            return None
        origin = modules[rest][0] if rest in modules else None
        return importlib.util.spec_from_loader(fullname, self, origin=origin, is_package=is_package)

    def create_module(self, spec):
        return None

    def exec_module(self, module) -> None:
        root, _, rest = module.__name__.partition(".")
        file, source = self.packages[root].get(rest, ("<empty>", ""))
        module.__file__ = file
        exec(compile(source, f"{file} (audited copy)", "exec"), module.__dict__)

    def load(self, name: str, modules: dict[str, tuple[str, str]]) -> Modules:
        self.unload(name)
        self.packages[name] = modules
        return Modules(name)

    def unload(self, name: str) -> None:
        self.packages.pop(name, None)
        for key in [k for k in sys.modules if k == name or k.startswith(name + ".")]:
            del sys.modules[key]


_FINDER = _SourceFinder()
sys.meta_path.insert(0, _FINDER)
_PACKAGES = itertools.count()


def package_sources(reference_dir: Path) -> dict[str, tuple[str, str]]:
    """The reference package as ``{module name within the package: (file, source)}``."""
    modules = {}
    for py in sorted(reference_dir.rglob("*.py")):
        rel = py.relative_to(reference_dir).with_suffix("")
        name = ".".join(rel.parts)
        name = "" if name == "__init__" else name.removesuffix(".__init__")
        modules[name] = (str(py), py.read_text(encoding="utf-8"))
    return modules


def _overlay(source: str, alternative: str) -> str:
    """``source`` with ``alternative``'s definitions appended, so same-named ones replace the originals."""
    extra = "".join(line for line in alternative.splitlines(keepends=True)
                    if not line.startswith("from __future__ import"))
    return source.rstrip("\n") + "\n\n\n" + extra


def _alternative_files(folder: Path) -> list[tuple[str, Path]]:
    """(module name within the package, file) for each alternative file."""
    out = []
    for py in sorted(folder.rglob("*.py")):
        name = ".".join(py.relative_to(folder).with_suffix("").parts)
        out.append(("" if name == "__init__" else name.removesuffix(".__init__"), py))
    return out


def with_alternatives(modules: dict[str, tuple[str, str]], folder: Path) -> dict[str, tuple[str, str]]:
    """The reference sources with each alternative file's functions appended to its namesake."""
    out = dict(modules)
    for name, py in _alternative_files(folder):
        if name not in out:
            raise GradingError(f"{py}: the reference has no module {name or '__init__'} to replace functions of")
        file, source = out[name]
        out[name] = (file, _overlay(source, py.read_text(encoding="utf-8")))
    return out


def apply_alternatives(assignment_folder: Path, folder: Path) -> Path:
    """Rewrite a solutions copy (one assignment's folder) in place with the alternatives of ``folder``,
    so it can be graded like any submission."""
    for _, py in _alternative_files(folder):
        target = assignment_folder / py.relative_to(folder)
        if not target.is_file():
            raise GradingError(f"{py}: {target.name} is not in {assignment_folder.name}/")
        target.write_text(_overlay(target.read_text(encoding="utf-8"), py.read_text(encoding="utf-8")),
                          encoding="utf-8")
    return assignment_folder


def alternative_functions(folder: Path) -> list[str]:
    names = []
    for py in sorted(folder.rglob("*.py")):
        tree = ast.parse(py.read_text(encoding="utf-8"), str(py))
        names += [n.name for n in tree.body if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))]
    return names


class _Timeout(BaseException):
    """A mutant ran past its time limit (BaseException, so the mutant's code cannot catch it)."""


def _roundtrip(tree: Any) -> Any:
    """What the sandbox's wire format makes of ``tree``: fresh tensors, lists for tuples, markers."""
    return wire.decode(wire.encode(tree))


def _run_case(task: Task, m: Modules, inputs: dict, index: int,
              banned_names: tuple[str, ...] = ()) -> tuple[Response, dict]:
    """Run one case like the sandboxed child does (banned operations included); returns the
    response and the inputs after the run."""
    kw = _roundtrip(inputs)
    guard = guard.Guard(banned_names, str(paths.REFERENCE)) if banned_names else None
    try:
        with torch.no_grad(), guard or contextlib.nullcontext():
            out = task.run(m, **kw)
        if not isinstance(out, dict):
            raise TypeError("the task driver returned no outputs")
        response = Response(task.id, index, "ok", outputs=_roundtrip(out))
    except NotImplementedError as e:
        response = Response(task.id, index, "not_implemented", message=str(e) or "NotImplementedError")
    except _Timeout:
        raise
    except Exception as e:
        response = Response(task.id, index, "error", message=f"{type(e).__name__}: {e}"[:1000])
    if guard is not None and guard.violation is not None:
        response = Response(task.id, index, "banned", message=guard.violation.describe())
    return response, kw


def _tensors(tree: Any, path: str = "") -> list[tuple[str, torch.Tensor]]:
    if isinstance(tree, torch.Tensor):
        return [(path, tree)]
    if isinstance(tree, dict):
        return [x for k, v in tree.items() for x in _tensors(v, f"{path}.{k}" if path else str(k))]
    if isinstance(tree, (list, tuple)):
        return [x for i, v in enumerate(tree) for x in _tensors(v, f"{path}.{i}")]
    return []


@dataclass
class _Plan:
    """Everything a worker needs, built once before the pool forks."""

    course: Course
    assignments: dict[str, tuple[AssignmentConfig, Suite]]
    cases: dict[str, tuple[list[Case], list[dict[str, torch.Tensor]]]]
    seconds: dict[str, float]       # the reference's time per task, all cases
    sources: dict[str, dict[str, tuple[str, str]]]
    mutants: list[Mutant]
    extra_seeds: int
    extra: dict[str, list[tuple[dict, dict, dict]]] = field(default_factory=dict)

    def task(self, task_id: str) -> Task:
        aid = self.aid(task_id)
        return self.assignments[aid][1].tasks[task_id]

    def aid(self, task_id: str) -> str:
        prefix = task_id.split(".", 1)[0]
        return next(a for a in self.assignments if a.split("_", 1)[0] == prefix)

    def config(self, task_id: str) -> TaskConfig:
        cfg = self.assignments[self.aid(task_id)][0]
        return next(t for t in cfg.tasks if t.id == task_id)

    def points(self, task_id: str) -> float:
        return self.config(task_id).points

    def banned(self, task_id: str) -> tuple[str, ...]:
        return tuple(getattr(self.config(task_id), "banned", ()))

    def grade(self, task_id: str, m: Modules, first_failure: bool = False):
        """Score ``m`` on one task exactly as the grader would (the score and its checks).

        With ``first_failure``, cases are scored one at a time and the first that loses points
        is returned: a check fails when any case fails, so that case alone decides the kill.
        """
        task = self.task(task_id)
        cases, expected = self.cases[task_id]
        aid, points, names = self.aid(task_id), self.points(task_id), self.banned(task_id)
        if first_failure:
            result = None
            for k, c in enumerate(cases):
                reply = _run_case(task, m, c.inputs, k, names)[0]
                result = score_task(self.course, aid, task, points, [c], [expected[k]], [reply], "cpu")
                if result.score < result.max_score:
                    return result
            if result is not None:
                return result
        replies = [_run_case(task, m, c.inputs, k, names)[0] for k, c in enumerate(cases)]
        return score_task(self.course, aid, task, points, cases, expected, replies, "cpu")

    def extra_cases(self, task_id: str) -> list[tuple[dict, dict, dict]]:
        """(inputs, reference outputs, reference's inputs after the run) on the extra seeds."""
        if task_id not in self.extra:
            task = self.task(task_id)
            reference = Modules(f"reference.{self.aid(task_id)}")
            made = []
            for i in range(self.extra_seeds):
                inputs = task.inputs(case_generator(EXTRA_SEED, task_id, i), i)
                response, after = _run_case(task, reference, inputs, i)
                made.append((inputs, response.outputs, after))
            self.extra[task_id] = made
        return self.extra[task_id]

    def differs(self, task_id: str, m: Modules) -> str:
        """Where ``m`` differs from the reference on the extra seeds ("" where it never does)."""
        task = self.task(task_id)
        for k, (inputs, ref_out, ref_after) in enumerate(self.extra_cases(task_id)):
            response, after = _run_case(task, m, inputs, k, self.banned(task_id))
            if response.status != "ok":
                return f"extra case {k}: {response.status}: {response.message}"
            pairs = [(n, response.outputs.get(n), r) for n, r in ref_out.items()]
            got_after = dict(_tensors(after))
            pairs += [(f"input {p}", got_after.get(p), r) for p, r in _tensors(ref_after)]
            for name, got, ref in pairs:
                if type(ref) is not torch.Tensor:
                    continue
                rtol, atol = _tolerance(self.course, ref, "cpu")
                c = compare(name, got, ref, Tolerance(rtol, atol))
                if not c.passed:
                    return f"extra case {k}: {c.message}"
        return ""


_PLAN: _Plan | None = None  # set in the parent before forking; workers inherit it


def _tasks_for(plan: _Plan, mutant: Mutant) -> list[str]:
    """The owning task, or every task of the assignment for a block in a helper function."""
    aid = plan.aid(mutant.task)
    suite = plan.assignments[aid][1]
    return [mutant.task] if mutant.task in suite.tasks else list(suite.tasks)


def _judge(index: int) -> tuple[int, str, str]:
    """Grade one mutant: (index, killed | survived | equivalent, how)."""
    plan = _PLAN
    assert plan is not None
    mutant = plan.mutants[index]
    aid = plan.aid(mutant.task)
    modules = dict(plan.sources[aid])
    file, _ = modules[mutant.module]
    modules[mutant.module] = (file, mutant.source)
    name = f"_audit_mutant_{os.getpid()}_{next(_PACKAGES)}"
    tasks = _tasks_for(plan, mutant)
    limit = max(MIN_TIMEOUT_S, 20 * sum(plan.seconds[t] for t in tasks))
    m = _FINDER.load(name, modules)
    try:
        return _verdict(plan, index, m, tasks, limit)
    except Exception as e:  # the mutant's own errors are caught per case: this is the grader's
        raise GradingError(f"grading the mutant {mutant.task} [{mutant.operator}] {mutant.description} "
                           f"({mutant.file}:{mutant.line}) failed: {type(e).__name__}: {e}") from None
    finally:
        _FINDER.unload(name)


def _verdict(plan: _Plan, index: int, m: Modules, tasks: list[str], limit: float) -> tuple[int, str, str]:
    """Killed at the first case that loses points; otherwise survived or equivalent by the extra seeds."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # a mutant's deprecation warnings are not news
        try:
            with _time_limit(limit):
                for task_id in tasks:
                    result = plan.grade(task_id, m, first_failure=True)
                    if result.score < result.max_score:
                        failed = next((c for c in result.checks if not c.passed), None)
                        how = result.status + (f": {failed.message}" if failed else "")
                        return index, "killed", how[:300]
        except _Timeout:
            return index, "killed", f"timeout: ran past {limit:.0f} s"
        try:  # it passed the suite: does it differ from the reference anywhere else?
            with _time_limit(limit * plan.extra_seeds):
                where = next((d for t in tasks if (d := plan.differs(t, m))), "")
        except _Timeout:
            where = f"the extra cases ran past {limit * plan.extra_seeds:.0f} s"
    return (index, "survived", where[:300]) if where else (index, "equivalent", "")


class _time_limit:
    """SIGALRM-based limit; a no-op off the main thread, where signals cannot be delivered."""

    def __init__(self, seconds: float):
        self.seconds = seconds
        self.active = threading.current_thread() is threading.main_thread()

    def __enter__(self):
        if self.active:
            def expire(signum, frame):
                raise _Timeout()
            self.previous = signal.signal(signal.SIGALRM, expire)
            signal.setitimer(signal.ITIMER_REAL, self.seconds)
        return self

    def __exit__(self, *exc):
        if self.active:
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, self.previous)
        return False


def _init_worker() -> None:
    torch.set_num_threads(1)
    torch.set_grad_enabled(False)  # as in the sandbox: backward passes are written by hand
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent handles Ctrl-C


def select(course: Course, ids: list[str] | None) -> list[tuple[AssignmentConfig, set[str] | None]]:
    """The assignments to audit (every available one by default), each with the tasks to audit
    (None: all of them) when ``ids`` names tasks (``a02.affine_backward``) rather than assignments."""
    if not ids:
        return [(a, None) for a in course.assignments if a.available]
    chosen: dict[str, tuple[AssignmentConfig, set[str] | None]] = {}
    for key in ids:
        task = key if "." in key else None
        try:
            cfg = course.assignment(key.split(".", 1)[0])
        except KeyError:
            raise GradingError(f"unknown assignment '{key}' (see course.yaml)") from None
        if not cfg.available:
            raise GradingError(f"{cfg.id} is not available yet (course.yaml)")
        if task is not None and task not in {t.id for t in cfg.tasks}:
            raise GradingError(f"unknown task {task} (see course.yaml)")
        _, tasks = chosen.get(cfg.id, (cfg, set()))
        whole = tasks is None or task is None
        chosen[cfg.id] = (cfg, None if whole else tasks | {task})
    return list(chosen.values())


def audit(course: Course, ids: list[str] | None = None, jobs: int = 1, suite: str = "all",
          extra_seeds: int = EXTRA_SEEDS, operators: tuple[str, ...] = OPERATORS,
          alternatives: Path | None = ALTERNATIVES,
          progress: Callable[[str], None] | None = None) -> list[AssignmentAudit]:
    """Mutation-test the suites of ``ids`` (assignment ids, prefixes or task ids; default: every
    available assignment) and grade their alternative implementations."""
    global _PLAN
    selected = select(course, ids)
    chosen = [cfg for cfg, _ in selected]
    assignments, cases, seconds, sources, found = {}, {}, {}, {}, []
    for cfg, only in selected:
        if not (paths.REFERENCE / cfg.id).is_dir():
            raise GradingError(f"{cfg.id}: no reference/{cfg.id}/ to make mutants from")
        s = suites.load(cfg.id)
        check_suite(cfg, s)
        assignments[cfg.id] = (cfg, s)
        reference = Modules(f"reference.{cfg.id}")
        for tcfg in cfg.tasks:
            task = s.tasks[tcfg.id]
            start = time.perf_counter()
            made = make_cases(course, task, suite)
            cases[task.id] = (made, [expected_outputs(task, reference, c.inputs) for c in made])
            seconds[task.id] = time.perf_counter() - start
        sources[cfg.id] = package_sources(paths.REFERENCE / cfg.id)
        found += [mu for mu in mutants(paths.REFERENCE / cfg.id, operators)
                  if only is None or mu.task in only]
    plan = _Plan(course, assignments, cases, seconds, sources, found, extra_seeds)
    if progress:
        progress(f"auditing {', '.join(assignments)}: {len(found)} mutants, {jobs} worker(s)")
    _PLAN = plan
    try:
        if jobs > 1 and len(found) > 1 and "fork" in multiprocessing.get_all_start_methods():
            ctx = multiprocessing.get_context("fork")
            with ctx.Pool(jobs, initializer=_init_worker) as pool:
                verdicts = list(pool.imap_unordered(_judge, range(len(found)), chunksize=4))
        else:
            verdicts = [_judge(i) for i in range(len(found))]
        alts = {cfg.id: _audit_alternatives(plan, cfg.id, alternatives / cfg.id)
                for cfg in chosen if alternatives is not None and (alternatives / cfg.id).is_dir()}
    finally:
        _PLAN = None
    return [_summarise(cfg, only, found, verdicts, alts.get(cfg.id)) for cfg, only in selected]


def _audit_alternatives(plan: _Plan, aid: str, folder: Path) -> AlternativeAudit:
    prefix = aid.split("_", 1)[0]
    modules = with_alternatives(plan.sources[aid], folder)
    name = f"_audit_alternative_{os.getpid()}_{next(_PACKAGES)}"
    m = _FINDER.load(name, modules)
    failures = []
    files = dict(_alternative_files(folder))
    try:
        for task_id in plan.assignments[aid][1].tasks:
            task = plan.task(task_id)
            found = banned.scan(files[task.module], task.function, plan.banned(task_id)) \
                if task.module in files else []
            if found:  # the grader rejects these before running them
                failures.append(f"{task_id}: {found[0].describe()}")
                continue
            result = plan.grade(task_id, m)
            if result.score < result.max_score:
                failed = next((c for c in result.checks if not c.passed), None)
                failures.append(f"{task_id}: {result.status}" + (f": {failed.message}" if failed else ""))
    finally:
        _FINDER.unload(name)
    replaced = [f"{prefix}.{f}" for f in alternative_functions(folder)]
    files = sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*.py"))
    return AlternativeAudit(files, [t for t in plan.assignments[aid][1].tasks if t in replaced], failures)


def _summarise(cfg: AssignmentConfig, only: set[str] | None, found: list[Mutant],
               verdicts: list[tuple[int, str, str]], alternatives: AlternativeAudit | None) -> AssignmentAudit:
    prefix = cfg.prefix + "."
    order = [t.id for t in cfg.tasks]
    by_task: dict[str, TaskAudit] = {t: TaskAudit(t) for t in order if only is None or t in only}
    for index, status, how in sorted(verdicts):
        mu = found[index]
        if not mu.task.startswith(prefix):
            continue
        t = by_task.setdefault(mu.task, TaskAudit(mu.task))
        outcome = MutantOutcome(mu.task, mu.file, mu.line, mu.operator, mu.description, status, how, mu.diff)
        t.add(Counts(mu.task, **{status: 1}, killed_by_error=int(status == "killed" and not how.startswith("failed"))))
        if status == "survived":
            t.survivors.append(outcome)
        elif status == "equivalent":
            t.equivalents.append(outcome)
    result = AssignmentAudit(cfg.id, alternatives=alternatives)
    for t in by_task.values():
        result.add(t)
        result.tasks.append(t)
    return result


def to_json(results: list[AssignmentAudit]) -> str:
    return json.dumps([asdict(r) for r in results], indent=2) + "\n"


def to_text(results: list[AssignmentAudit], fail_under: float = DEFAULT_FAIL_UNDER) -> str:
    lines: list[str] = []
    for r in results:
        verdict = "ok" if r.kill_rate >= fail_under else f"UNDER {fail_under:g}%"
        lines.append(f"{r.id}: kill rate {r.kill_rate:.1f}% ({r.killed} killed, {r.killed_by_error} of them by an "
                     f"error; {r.survived} survived; {r.equivalent} suspected equivalent) {verdict}")
        width = max([len(t.id) for t in r.tasks] + [4])
        lines.append(f"  {'task':<{width}}  killed  by error  survived  equivalent  kill rate")
        for t in r.tasks:
            lines.append(f"  {t.id:<{width}}  {t.killed:>6}  {t.killed_by_error:>8}  {t.survived:>8}  "
                         f"{t.equivalent:>10}  {t.kill_rate:>8.1f}%")
        for t in r.tasks:
            for o in t.survivors:
                lines.append(f"  survived: {o.task} [{o.operator}] {o.description}")
                lines.append(f"    {o.how}")
                lines += ["    " + d for d in o.diff.splitlines()]
        for t in r.tasks:
            for o in t.equivalents:
                lines.append(f"  suspected equivalent: {o.task} [{o.operator}] {o.description} "
                             f"({o.file}:{o.line})")
        if r.alternatives is not None:
            a = r.alternatives
            lines.append(f"  alternatives ({', '.join(a.files)}; replacing {', '.join(a.tasks) or 'no task'}): "
                         + ("all tasks full marks" if not a.false_failures else
                            f"{len(a.false_failures)} false failure(s)"))
            lines += [f"    false failure: {f}" for f in a.false_failures]
        else:
            lines.append("  alternatives: none")
        lines.append("")
    return "\n".join(lines)
