"""A batch worker's side: one warm sandbox per process, one submission graded per call, its result back.

Runs in a process of the local pool (:func:`serve`) or in a Dask worker (:func:`grade_job` is
the task). The process keeps one :class:`grader.sandbox.session.SandboxRunner`, made at its first
job and handed to every grading after it, so what the runner keeps warm serves the whole
batch. What goes back to the coordinator is an :class:`grader.batch.jobs.Outcome`: the grading
(a :class:`grader.results.GradingResult`), or why there is none. The worker never writes the gradebook.
"""
from __future__ import annotations

import atexit
import os
import resource
import signal
import socket
import sys
import threading
import time
import traceback
import dataclasses
from dataclasses import dataclass
from multiprocessing.connection import Connection

from grader import i18n
from grader.batch import jobs, version
from grader.batch.jobs import Job, Outcome, SubmissionError
from grader.course.config import Course
from grader.judge.cases import remember_expected
from grader.judge.pipeline import GradingError, grade
from grader.sandbox import levels, session, warm
from grader.tasks.arrays import torch_loaded

PARENT_POLL_S = 1.0  # how often a pool worker checks that its coordinator is still there


@dataclass(frozen=True)
class Settings:
    """How every submission of a batch is graded: the same for all its jobs."""

    course: Course
    assignments: tuple[str, ...] | None  # as asked for (--assignment); None: every available one
    ids: tuple[str, ...]                 # the assignments graded
    suite: str
    device: str
    code: str                            # the coordinator's version.code_version(ids)
    isolation: levels.Isolation | None = None  # probed by the coordinator, on this machine (the local pool)
    require_isolation: str | None = None
    isolation_via: str = "auto"
    language: str = "en"                 # what the gradings' messages are written in (grader.i18n)


class WorkerMismatch(Exception):
    """This worker's checkout grades differently from the coordinator's."""


_runner: tuple[tuple, session.SandboxRunner] | None = None  # this process's warm sandbox, made at its first job


def warm_runner(settings: Settings) -> session.SandboxRunner:
    """The process's one sandbox runner, made at the first job (probing the isolation where the
    coordinator has not) and kept for every job after it."""
    global _runner
    wanted = (settings.device, settings.isolation, settings.require_isolation, settings.isolation_via)
    if _runner is None or _runner[0] != wanted:
        _runner = (wanted, session.runner_for(settings.device, require=settings.require_isolation,
                                              via=settings.isolation_via, probed=settings.isolation))
        remember_expected()  # every submission is graded on the same cases: the reference runs once per task
    return _runner[1]


def grade_job(job: Job, settings: Settings) -> Outcome:
    """Grade one submission, sandboxed, and apply each assignment's late penalty. Never raises: a
    submission that cannot be graded comes back with the reason."""
    started = time.monotonic()
    try:
        one_thread()
        own = version.code_version(settings.ids)
        if own != settings.code:
            raise WorkerMismatch(f"this worker's grader differs from the coordinator's ({own}, not {settings.code}): "
                                 "install the same checkout on every machine")
        runner = warm_runner(settings)
        times = {aid: stamp.at for aid, stamp in job.stamps.items() if stamp.at is not None}
        with jobs.opened(job) as path, i18n.using(settings.language):
            result = grade(path, settings.course, list(settings.assignments) if settings.assignments else None,
                           settings.suite, settings.device, times, runner=runner)
        if result.late is not None:  # each assignment was penalised by its own time; say where the latest came from
            latest = max((s for s in job.stamps.values() if s.at is not None), key=lambda s: s.at)
            result.late = dataclasses.replace(result.late, time_source=latest.source)
        return Outcome(job.student, result, seconds=time.monotonic() - started, worker=_where(),
                       peak_mb=peak_mb())
    except (GradingError, SubmissionError, WorkerMismatch, levels.IsolationRefused) as e:
        return Outcome(job.student, error=str(e), seconds=time.monotonic() - started, worker=_where(),
                       peak_mb=peak_mb())
    except Exception as e:
        return Outcome(job.student, error=f"grading raised {type(e).__name__}: {e}", detail=traceback.format_exc(),
                       seconds=time.monotonic() - started, worker=_where(), peak_mb=peak_mb())


def one_thread() -> None:
    """One thread for what this process computes with torch (expected values the cache does not hold, a
    failure's diagnoses: tiny tensors; the workers share the machine's cores), without importing it: a
    worker whose expected values are cached grades with torch in its sandboxed children only."""
    torch = torch_loaded()
    if torch is not None:
        torch.set_num_threads(1)
    else:
        os.environ["OMP_NUM_THREADS"] = "1"  # read by torch when this process imports it


def peak_mb() -> float:
    """This process's peak resident memory so far, in MiB (the sandboxed children are counted apart)."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return round(peak / 2**20 if sys.platform == "darwin" else peak / 1024, 1)  # bytes on macOS, KiB on Linux


def _where() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def serve(conn: Connection) -> None:
    """A local pool worker: grade each ``(job, settings)`` received on ``conn`` and send its outcome back,
    until told to stop (None) or the coordinator is gone."""
    signal.signal(signal.SIGINT, lambda *_: None)  # Ctrl-C is the coordinator's to handle; it stops us
    parent = os.getppid()
    threading.Thread(target=_exit_with, args=(parent,), daemon=True).start()
    one_thread()
    warm.start_now()  # the sandbox's fork server imports torch while the first job is on its way
    try:
        while True:
            try:
                order = conn.recv()
            except EOFError:
                return
            if order is None:
                return
            conn.send(grade_job(*order))
    finally:
        # multiprocessing ends a worker with os._exit, which skips exit handlers: run them, so what the
        # sandbox keeps warm for this process is stopped and its files removed
        atexit._run_exitfuncs()


def _exit_with(parent: int) -> None:
    """Exit as soon as the process that started this worker is gone (the coordinator was killed): the
    sandboxed children die with this process."""
    while os.getppid() == parent:
        time.sleep(PARENT_POLL_S)
    os._exit(1)
