"""A batch, as steps: settle the settings, plan (what is already graded is skipped), grade on an executor,
record each outcome as it comes, summarise.

The coordinator (this process) reads the submissions, decides what to grade, and is the only
writer of the gradebook: one transaction per submission, as its outcome arrives. Run again
after an interruption (Ctrl-C, a kill, a lost machine), it grades only what is not recorded.
"""
from __future__ import annotations

import concurrent.futures
import dataclasses
import statistics
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from grader.batch import executors, jobs, version
from grader.batch.gradebook import Gradebook, Key, not_graded
from grader.batch.jobs import BatchError, Job, Outcome, SubmissionError
from grader.batch.worker import Settings
from grader.course.config import Course, SelectionError
from grader.judge.cases import suite_names
from grader.sandbox.levels import IsolationRefused
from grader.sandbox.session import runner_for

SLOWEST = 5  # submissions the summary names as the slowest


def settle(course: Course, assignments: list[str] | None, suite: str, device: str, executor: str,
           require_isolation: str | None = None, isolation_via: str = "auto") -> Settings:
    """The batch's settings, every one checked before anything is graded: the assignments exist and
    are available, the device is known. The isolation is probed by :func:`probed`."""
    suite_names(suite)
    if executor == "dask" and device not in ("cpu", "cuda"):
        raise BatchError("--executor dask needs --device cpu or cuda: the workers' devices are not known here")
    try:
        ids = [cfg.id for cfg, _ in course.select(assignments or None)]
        device = course.device(device, here=executor != "dask")
    except SelectionError as e:
        raise BatchError(str(e)) from None
    return Settings(course, tuple(assignments) if assignments else None, tuple(ids), suite, device,
                    version.code_version(tuple(ids)), None, require_isolation, isolation_via)


def probed(settings: Settings) -> Settings:
    """The settings with this machine's isolation, probed once here for every local worker (a Dask
    worker, on a machine of its own, probes its own); refused before anything is graded when the
    machine cannot give the isolation required."""
    try:
        runner = runner_for(settings.device, require=settings.require_isolation, via=settings.isolation_via)
    except IsolationRefused as e:
        raise BatchError(f"grading refused: {e}") from None
    return dataclasses.replace(settings, isolation=runner.iso)


def key(settings: Settings) -> Key:
    return Key(version.grader_version(settings.course, settings.ids), settings.suite, settings.device)


@dataclass
class Worklist:
    """What a batch will grade (its jobs), and what it will not (already graded, unreadable)."""

    total: int                                       # entries in SUBMISSIONS
    todo: list[Job] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)  # already graded: same submission, time and key
    failed: list[tuple[str, str]] = field(default_factory=list)  # (student, why): could not even be read
    times: dict[str, int] = field(default_factory=dict)  # time source -> assignments of the todo timed by it


def plan(folder: Path, settings: Settings, book: Gradebook, force: bool = False, nbgrader: bool = False) -> Worklist:
    """Read every entry of ``folder``; record at once those that cannot be graded; skip those the
    gradebook holds already (unless ``force``). ``nbgrader``: ``folder`` is nbgrader's ``submitted/``,
    so its folders' ``<assignment>/timestamp.txt`` are nbgrader's times (:func:`jobs.submission_times`)."""
    entries = jobs.discover(folder)
    out = Worklist(len(entries))
    ids, k = list(settings.ids), key(settings)
    for entry in entries:
        try:
            job = jobs.prepare(entry, settings.course, ids, nbgrader)
        except SubmissionError as e:
            book.record(Job(entry.student, entry.path.name, entry.kind, ""), Outcome(entry.student, error=str(e)),
                        ids, k)
            out.failed.append((entry.student, str(e)))
            continue
        if not force and book.is_graded(job, ids, k):
            out.skipped.append(job.student)
        else:
            out.todo.append(job)
            for aid in ids:
                source = job.stamps[aid].source if job.stamps[aid].at is not None else "none"
                out.times[source] = out.times.get(source, 0) + 1
    return out


def launch(kind: str, workers: int, settings: Settings, worklist: Worklist, scheduler: str | None = None
           ) -> tuple[executors.Executor, Settings]:
    """The executor, its workers started for the worklist's jobs, and the settings to grade with. For the local
    pool the isolation is probed here while the workers start (they take seconds to import torch):
    a machine that cannot give the isolation required is refused before anything is graded."""
    pool = executors.create(kind, workers, scheduler)
    try:
        if kind != "local" or not worklist.todo:
            pool.start(len(worklist.todo))
            return pool, settings
        with concurrent.futures.ThreadPoolExecutor(1) as side:
            probing = side.submit(probed, settings)
            pool.start(len(worklist.todo))
            return pool, probing.result()
    except BaseException:
        pool.close()
        raise


@dataclass
class Summary:
    """What a batch did: for people at the end of ``grader batch``."""

    total: int
    skipped: int
    graded: list[tuple[str, float]] = field(default_factory=list)  # (student, seconds), graded by this run
    failed: list[tuple[str, str]] = field(default_factory=list)    # (student, why)
    done: int = 0                     # outcomes that came back from the workers, graded or not
    times: dict[str, int] = field(default_factory=dict)           # time source -> assignments it timed
    seconds: float = 0.0
    peak_mb: dict[str, float] = field(default_factory=dict)        # worker -> its peak resident memory
    scores: dict[str, tuple[float, list[float]]] = field(default_factory=dict)  # assignment -> (max, the class's)

    @property
    def per_minute(self) -> float:
        return 60.0 * self.done / self.seconds if self.seconds > 0 else 0.0

    def describe(self) -> str:
        lines = [f"graded {len(self.graded)} of {_count(self.total, 'submission')} in {_duration(self.seconds)} "
                 f"({self.per_minute:.1f} per minute); {self.skipped} already in the gradebook, "
                 f"{len(self.failed)} failed to grade"]
        if self.failed:
            lines.append("failed to grade (recorded with the reason; the next batch tries them again):")
            lines += [f"  {student}: {why}" for student, why in sorted(self.failed)]
        if self.graded:
            slow = sorted(self.graded, key=lambda g: -g[1])[:SLOWEST]
            lines.append("slowest: " + ", ".join(f"{student} {seconds:.1f} s" for student, seconds in slow))
        if self.peak_mb:
            lines.append(f"peak memory of a worker process: {max(self.peak_mb.values()):.0f} MiB "
                         f"({_count(len(self.peak_mb), 'worker')})")
        for aid, (top, scores) in sorted(self.scores.items()):
            lines.append(f"{aid}: {_distribution(top, scores)}")
        if self.times:
            lines.append("submission times from: " + ", ".join(
                f"{source} ({_count(n, 'assignment')})" for source, n in sorted(self.times.items())))
        return "\n".join(lines) + "\n"


def execute(worklist: Worklist, book: Gradebook, executor: executors.Executor, settings: Settings,
            advance: Callable[[Outcome], None] | None = None) -> Summary:
    """Grade the worklist's jobs on ``executor``, recording each outcome in its own transaction as it comes."""
    started = time.monotonic()
    summary = Summary(worklist.total, len(worklist.skipped), failed=list(worklist.failed), times=dict(worklist.times))
    by_student = {job.student: job for job in worklist.todo}
    ids, k = list(settings.ids), key(settings)
    for outcome in executor.run(worklist.todo, settings):
        book.record(by_student[outcome.student], outcome, ids, k)
        summary.done += 1
        if outcome.graded:
            summary.graded.append((outcome.student, outcome.seconds))
            summary.failed += [(outcome.student, f"{a.id}: {not_graded(a)}")
                               for a in outcome.result.assignments if a.error and a.id in ids]
        else:
            summary.failed.append((outcome.student, outcome.error))
        if outcome.worker:
            summary.peak_mb[outcome.worker] = max(outcome.peak_mb, summary.peak_mb.get(outcome.worker, 0.0))
        if advance is not None:
            advance(outcome)
    summary.seconds = time.monotonic() - started
    for row in book.submissions():
        if row["status"] == "graded" and row["assignment"] in ids:
            top, scores = summary.scores.get(row["assignment"], (row["max_score"], []))
            summary.scores[row["assignment"]] = (max(top, row["max_score"]), scores + [row["score"]])
    return summary


def batch(folder: Path, gradebook: Path, course: Course, assignments: list[str] | None = None,
          suite: str = "public", device: str = "cpu", executor: str = "local", workers: int = 1,
          scheduler: str | None = None, force: bool = False, require_isolation: str | None = None,
          isolation_via: str = "auto", advance: Callable[[Outcome], None] | None = None,
          nbgrader: bool = False) -> Summary:
    """Grade every submission in ``folder`` into ``gradebook``: the typed API behind ``grader batch``."""
    settings = settle(course, assignments, suite, device, executor, require_isolation, isolation_via)
    with Gradebook(gradebook) as book:
        worklist = plan(folder, settings, book, force, nbgrader)
        pool, settings = launch(executor, workers, settings, worklist, scheduler)
        try:
            return execute(worklist, book, pool, settings, advance)
        finally:
            pool.close()


def _distribution(top: float, scores: list[float], bins: int = 5) -> str:
    """The class's scores in one line: how many, mean, median, and a count per fifth of the maximum."""
    if not scores:
        return "no graded submissions"
    counts = [0] * bins
    for score in scores:
        counts[min(bins - 1, int(bins * score / top)) if top > 0 else 0] += 1
    edges = [f"{100 * k // bins}-{100 * (k + 1) // bins}%: {n}" for k, n in enumerate(counts)]
    return (f"{_count(len(scores), 'graded submission')} in the gradebook, mean {statistics.mean(scores):.2f} / "
            f"{top:g}, median {statistics.median(scores):g}; " + ", ".join(edges))


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}{'' if n == 1 else 's'}"


def _duration(seconds: float) -> str:
    minutes, s = divmod(round(seconds), 60)
    return f"{minutes}m {s:02d}s" if minutes else f"{seconds:.1f} s"
