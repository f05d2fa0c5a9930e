"""Audit the grading suites: do they fail wrong answers (mutants) and pass right ones (alternatives)?

For every available assignment, each mutant of the reference (:mod:`grader.quality.mutate`) is
graded against its task's suite with the grader's own cases and expected values, through the
judge's own run and score steps (:func:`grader.judge.pipeline.run_and_score`). Mutants are
generated from trusted code, so they run in-process (:class:`InProcessRunner`, in a pool of
forked workers) instead of the sandbox; inputs and outputs still pass through the wire format,
so a mutant sees exactly what a sandboxed submission sees.

A mutant that loses points is killed. One that keeps full marks is run again on extra seeds:
if its outputs (and whatever it did to its inputs) match the reference's on all of them it is
reported as suspected-equivalent, otherwise it survived and shows a gap in the suite.

With ``sample``, only a deterministic part of the mutants is graded (``mutate.sample``: the same
ones everywhere, every task and operator represented) and each assignment's result says so: a
cheap check for CI, whose kill rate is the sample's, not the whole audit's.

Alternative implementations live beside this module, in ``alternatives/<aid>/``: each file there
holds functions that replace the same-named ones of the reference module with the same file name
(loops instead of vectorised code, another order of operations). They must score full marks; a
task they lose points on is a :class:`FalseFailure`.
"""
from __future__ import annotations

import ast
import contextlib
import dataclasses
import multiprocessing
import os
import signal
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import torch

from grader import paths
from grader.course.config import AssignmentConfig, Course, SelectionError, TaskConfig
from grader.course.policy import tolerance
from grader.judge import scan
from grader.judge.cases import Case, GradingError, check_suite, expected_outputs, make_cases
from grader.judge.compare import Tolerance, compare
from grader.judge.pipeline import AssignmentGrading, run_and_score
from grader.quality.inprocess import (FINDER, PACKAGES, InProcessRunner, Timeout, package_sources, run_case,
                                      time_limit)
from grader.quality.mutate import MIN_PER_TASK, OPERATORS, Mutant, mutants
from grader.quality.mutate import sample as sample_of
from grader.results import (AlternativeAudit, AssignmentAudit, AuditSample, Counts, FalseFailure, MutantOutcome,
                            RunStatus, Status, TaskAudit, TaskResult)
from grader.sandbox.runner import Request
from grader.tasks import suites
from grader.tasks.model import Modules, Suite, Task, case_generator
from grader.tasks.trees import leaf_tensors

ALTERNATIVES = Path(__file__).resolve().parent / "alternatives"  # <aid>/<module>.py: right answers written otherwise
EXTRA_SEEDS = 20            # extra cases a surviving mutant must match to be called equivalent
EXTRA_SEED = 1_234_577      # their suite seed: neither the public nor the hidden one
MIN_TIMEOUT_S = 2.0         # a mutant's CPU-time limit: this, or 20x the reference's CPU time if longer
WALL_FACTOR, MIN_WALL_S = 10, 30.0  # and on the clock, for one that waits rather than computes: 10x that, >= 30 s


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


@dataclass
class _AuditSetup:
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

    def banned(self, task_id: str) -> tuple[str, ...]:
        return tuple(getattr(self.config(task_id), "banned", ()))

    def grade(self, task_id: str, m: Modules, first_failure: bool = False) -> TaskResult:
        """Score ``m`` on one task as the grader does: the judge's run and score steps on its cases,
        with the in-process runner (the score and its checks; no diagnoses, which decide nothing).

        With ``first_failure``, cases are scored one at a time and the first that loses points
        is returned: a check fails when any case fails, so that case alone decides the kill.
        """
        cases, expected = self.cases[task_id]
        aid, tcfg = self.aid(task_id), self.config(task_id)
        cfg, suite = dataclasses.replace(self.assignments[aid][0], tasks=(tcfg,)), self.assignments[aid][1]
        runner = InProcessRunner(task_limits=False)  # the audit bounds each mutant as a whole

        def graded(ks: list[int]) -> TaskResult:
            # the in-process runner takes the package loaded in memory where the sandbox takes a folder
            grading = AssignmentGrading(cfg, suite, m, {task_id: [cases[k] for k in ks]},  # type: ignore[arg-type]
                           {task_id: [expected[k] for k in ks]})
            grading.requests = [Request(task_id, i, cases[k].inputs, 0, self.banned(task_id)) for i, k in enumerate(ks)]
            return run_and_score(grading, self.course, "cpu", runner)[0]

        if first_failure:
            result = None
            for k in range(len(cases)):
                result = graded([k])
                if result.score < result.max_score:
                    return result
            if result is not None:
                return result
        return graded(list(range(len(cases))))

    def extra_cases(self, task_id: str) -> list[tuple[dict, dict, dict]]:
        """(inputs, reference outputs, reference's inputs after the run) on the extra seeds."""
        if task_id not in self.extra:
            task = self.task(task_id)
            reference = Modules(f"reference.{self.aid(task_id)}")
            made = []
            for i in range(self.extra_seeds):
                inputs = task.inputs(case_generator(EXTRA_SEED, task_id, i), i)
                response, after = run_case(task, reference, inputs, i)
                made.append((inputs, response.outputs, after))
            self.extra[task_id] = made
        return self.extra[task_id]

    def differs(self, task_id: str, m: Modules) -> str:
        """Where ``m`` differs from the reference on the extra seeds ("" where it never does)."""
        task = self.task(task_id)
        for k, (inputs, ref_out, ref_after) in enumerate(self.extra_cases(task_id)):
            response, after = run_case(task, m, inputs, k, self.banned(task_id))
            if response.status != RunStatus.OK:
                return f"extra case {k}: {response.status}: {response.message}"
            pairs = [(n, response.outputs.get(n), r) for n, r in ref_out.items()]
            got_after = dict(leaf_tensors(after))
            pairs += [(f"input {p}", got_after.get(p), r) for p, r in leaf_tensors(ref_after)]
            for name, got, ref in pairs:
                if type(ref) is not torch.Tensor:
                    continue
                rtol, atol = tolerance(self.course, ref, "cpu")
                c = compare(name, got, ref, Tolerance(rtol, atol))
                if not c.passed:
                    return f"extra case {k}: {c.message}"
        return ""


_SETUP: _AuditSetup | None = None  # set in the parent before forking; workers inherit it


def _tasks_for(setup: _AuditSetup, mutant: Mutant) -> list[str]:
    """The owning task, or every task of the assignment for a block in a helper function."""
    aid = setup.aid(mutant.task)
    suite = setup.assignments[aid][1]
    return [mutant.task] if mutant.task in suite.tasks else list(suite.tasks)


Verdict = tuple[int, str, str, bool]  # (index, killed | survived | equivalent, how, killed by an error)


def _judge(index: int) -> Verdict:
    """Grade one mutant: its :data:`Verdict`."""
    setup = _SETUP
    assert setup is not None
    mutant = setup.mutants[index]
    aid = setup.aid(mutant.task)
    modules = dict(setup.sources[aid])
    file, _ = modules[mutant.module]
    modules[mutant.module] = (file, mutant.source)
    name = f"_audit_mutant_{os.getpid()}_{next(PACKAGES)}"
    tasks = _tasks_for(setup, mutant)
    limit = max(MIN_TIMEOUT_S, 20 * sum(setup.seconds[t] for t in tasks))
    m = FINDER.load(name, modules)
    try:
        return _verdict(setup, index, m, tasks, limit)
    except Exception as e:  # the mutant's own errors are caught per case: this is the grader's
        raise GradingError(f"grading the mutant {mutant.task} [{mutant.operator}] {mutant.description} "
                           f"({mutant.file}:{mutant.line}) failed: {type(e).__name__}: {e}") from None
    finally:
        FINDER.unload(name)


def _verdict(setup: _AuditSetup, index: int, m: Modules, tasks: list[str], limit: float) -> Verdict:
    """Killed at the first case that loses points; otherwise survived or equivalent by the extra seeds."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # a mutant's deprecation warnings are not news
        try:
            with bounded(limit):
                for task_id in tasks:
                    result = setup.grade(task_id, m, first_failure=True)
                    if result.score < result.max_score:
                        failed = next((c for c in result.checks if not c.passed), None)
                        how = result.status + (f": {failed.message}" if failed else "")
                        return index, "killed", how[:300], result.status != Status.FAILED
        except Timeout:
            return index, "killed", f"timeout: ran past {limit:g} s of CPU time", True
        try:  # it passed the suite: does it differ from the reference anywhere else?
            with bounded(limit * setup.extra_seeds):
                where = next((d for t in tasks if (d := setup.differs(t, m))), "")
        except Timeout:
            where = f"the extra cases ran past {limit * setup.extra_seeds:g} s of CPU time"
    return (index, "survived", where[:300], False) if where else (index, "equivalent", "", False)


@contextlib.contextmanager
def bounded(cpu_s: float):
    """At most ``cpu_s`` of CPU time, and a backstop on the clock for code that waits instead: a mutant
    is stopped for the work it does, not for the load around it, so a busy machine does not kill a
    slow but correct mutant, and an idle one need not wait long on a mutant that loops forever."""
    with time_limit(max(MIN_WALL_S, WALL_FACTOR * cpu_s)), time_limit(cpu_s, cpu=True):
        yield


def _import_lazy_dependencies() -> None:
    """Import before forking what torch imports on first use (sympy): a worker's time limit striking in
    the middle of that import would leave a half-made module behind for every later mutant."""
    try:
        import sympy  # noqa: F401
        import sympy.printing  # noqa: F401
    except ImportError:
        pass


def _init_worker() -> None:
    torch.set_num_threads(1)
    torch.set_grad_enabled(False)  # as in the sandbox: backward passes are written by hand
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent handles Ctrl-C


def audit(course: Course, ids: list[str] | None = None, jobs: int = 1, which: str = "all",
          extra_seeds: int = EXTRA_SEEDS, operators: tuple[str, ...] = OPERATORS,
          alternatives: Path | None = ALTERNATIVES,
          progress: Callable[[str], None] | None = None, sample: float | None = None,
          min_per_task: int = MIN_PER_TASK) -> list[AssignmentAudit]:
    """Mutation-test the suites of ``ids`` (assignment ids, prefixes or task ids; default: every
    available assignment) and grade their alternative implementations.

    ``which``: the cases a mutant must pass to survive (public, hidden or all).
    ``sample``: grade only that fraction of each task's mutants (at least one per operator and
    ``min_per_task`` in all), chosen by ``mutate.sample``; alternatives are graded in full either way."""
    global _SETUP
    if sample is not None and not 0 < sample <= 1:
        raise GradingError(f"--sample must be a fraction in (0, 1], e.g. 0.2, not {sample:g}")
    if min_per_task < 1:
        raise GradingError(f"a sample keeps at least one mutant per task, not {min_per_task}")
    try:  # each assignment with the tasks to audit (None: all of them) where ``ids`` names tasks
        selected = course.select(ids or None, task_ids=True)
    except SelectionError as e:
        raise GradingError(str(e)) from None
    chosen = [cfg for cfg, _ in selected]
    assignments, cases, seconds, sources, found = {}, {}, {}, {}, []
    samples: dict[str, AuditSample] = {}
    for cfg, only in selected:
        if not (paths.REFERENCE / cfg.id).is_dir():
            raise GradingError(f"{cfg.id}: no reference/{cfg.id}/ to make mutants from")
        suite = suites.load(cfg.id)
        check_suite(course, cfg, suite)
        assignments[cfg.id] = (cfg, suite)
        reference = Modules(f"reference.{cfg.id}")
        for tcfg in cfg.tasks:
            task = suite.tasks[tcfg.id]
            start = time.process_time()
            made = make_cases(course, task, which)
            cases[task.id] = (made, [expected_outputs(task, reference, c.inputs) for c in made])
            seconds[task.id] = time.process_time() - start
        sources[cfg.id] = package_sources(paths.REFERENCE / cfg.id)
        made = [mu for mu in mutants(paths.REFERENCE / cfg.id, operators) if only is None or mu.task in only]
        if sample is not None:
            every, made = len(made), sample_of(made, sample, min_per_task)
            samples[cfg.id] = AuditSample(sample, len(made), every)
        found += made
    setup = _AuditSetup(course, assignments, cases, seconds, sources, found, extra_seeds)
    if progress:
        of = f" (a sample of {sum(s.of for s in samples.values())})" if samples else ""
        progress(f"auditing {', '.join(assignments)}: {len(found)} mutants{of}, {jobs} worker(s)")
    _SETUP = setup
    _import_lazy_dependencies()
    folders = {cfg.id: alternatives / cfg.id for cfg in chosen
               if alternatives is not None and (alternatives / cfg.id).is_dir()}
    try:
        if jobs > 1 and len(found) + len(folders) > 1 and "fork" in multiprocessing.get_all_start_methods():
            ctx = multiprocessing.get_context("fork")
            with ctx.Pool(jobs, initializer=_init_worker) as pool:
                # alternatives first, beside the mutants rather than after them: each is one long job
                pending = {aid: pool.apply_async(_alternatives_job, (aid, folder)) for aid, folder in folders.items()}
                verdicts = list(pool.imap_unordered(_judge, range(len(found)), chunksize=4))
                alts = {aid: job.get() for aid, job in pending.items()}
        else:
            verdicts = [_judge(i) for i in range(len(found))]
            alts = {aid: _audit_alternatives(setup, aid, folder) for aid, folder in folders.items()}
    finally:
        _SETUP = None
    return [_summarise(cfg, only, found, verdicts, alts.get(cfg.id), samples.get(cfg.id)) for cfg, only in selected]


def _alternatives_job(aid: str, folder: Path) -> AlternativeAudit:
    """:func:`_audit_alternatives` in a pool's worker, on the setup it inherited."""
    assert _SETUP is not None
    return _audit_alternatives(_SETUP, aid, folder)


def _audit_alternatives(setup: _AuditSetup, aid: str, folder: Path) -> AlternativeAudit:
    prefix = aid.split("_", 1)[0]
    modules = with_alternatives(setup.sources[aid], folder)
    name = f"_audit_alternative_{os.getpid()}_{next(PACKAGES)}"
    m = FINDER.load(name, modules)
    failures = []
    files = dict(_alternative_files(folder))
    try:
        for task_id in setup.assignments[aid][1].tasks:
            task = setup.task(task_id)
            found = scan.scan(files[task.module], task.function, setup.banned(task_id)) \
                if task.module in files else []
            if found:  # the grader rejects these before running them
                failures.append(FalseFailure(task_id, Status.BANNED, message=found[0].describe()))
                continue
            result = setup.grade(task_id, m)
            if result.score < result.max_score:
                failed = next((c for c in result.checks if not c.passed), None)
                failures.append(FalseFailure(task_id, result.status, failed.name if failed else "",
                                             failed.message if failed else ""))
    finally:
        FINDER.unload(name)
    replaced = [f"{prefix}.{f}" for f in alternative_functions(folder)]
    files = sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*.py"))
    return AlternativeAudit(files, [t for t in setup.assignments[aid][1].tasks if t in replaced], failures)


def _summarise(cfg: AssignmentConfig, only: frozenset[str] | None, found: list[Mutant],
               verdicts: list[Verdict], alternatives: AlternativeAudit | None,
               sample: AuditSample | None = None) -> AssignmentAudit:
    prefix = cfg.prefix + "."
    order = [t.id for t in cfg.tasks]
    by_task: dict[str, TaskAudit] = {t: TaskAudit(t) for t in order if only is None or t in only}
    for index, status, how, by_error in sorted(verdicts):
        mu = found[index]
        if not mu.task.startswith(prefix):
            continue
        t = by_task.setdefault(mu.task, TaskAudit(mu.task))
        outcome = MutantOutcome(mu.task, mu.file, mu.line, mu.operator, mu.description, status, how, mu.diff)
        t.add(Counts(mu.task, **{status: 1}, killed_by_error=int(by_error)))
        if status == "survived":
            t.survivors.append(outcome)
        elif status == "equivalent":
            t.equivalents.append(outcome)
    result = AssignmentAudit(cfg.id, alternatives=alternatives, sample=sample)
    for t in by_task.values():
        result.add(t)
        result.tasks.append(t)
    return result
