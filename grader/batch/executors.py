"""Where a batch's gradings run: a pool of local worker processes, or a Dask distributed cluster.

One small interface, :class:`Executor`: ``start(n)`` starts the workers ``n`` jobs need,
``run(jobs, settings)`` yields each job's outcome as it finishes (in any order), ``close()``
stops every worker it started. Both keep only a few jobs in flight (one per local worker,
about two per Dask worker thread), so a large class costs the coordinator little memory and
an interrupted batch loses little work. Workers grade with :func:`grader.batch.worker.grade_job`
and keep one warm sandbox per process; only the coordinator, which reads the outcomes, writes
the gradebook.
"""
from __future__ import annotations

import multiprocessing
import sys
import tempfile
import time
from dataclasses import dataclass
from multiprocessing.connection import Connection, wait
from typing import Any, Iterable, Iterator, Protocol

from grader.batch import jobs, worker
from grader.batch.jobs import BatchError, Job, Outcome
from grader.batch.worker import Settings

STOP_TIMEOUT_S = 10.0  # a worker told to stop has this long before it is killed
# No dashboard, and the scheduler's own HTTP server on a free port: its default, 8787, is taken by any other
# cluster on the machine (a second batch), which costs a warning and a retry.
NO_DASHBOARD = {"dashboard": False, "dashboard_address": ":0"}
FORKSERVER_TMP_MAX = 64  # longest temporary folder that leaves room for the forkserver's socket in it
EXECUTORS = ("local", "dask")


class Executor(Protocol):
    def start(self, jobs: int) -> None:
        """Start the workers ``jobs`` jobs need, and wait until they can take one."""
        ...

    def run(self, jobs: Iterable[Job], settings: Settings) -> Iterator[Outcome]:
        """Each job's outcome, as it finishes; a worker that dies costs its job a failure, not the batch."""
        ...

    def close(self) -> None:
        """Stop every worker this executor started (a grading in progress is abandoned)."""
        ...

    def in_flight(self) -> list[tuple[str, float]]:
        """The students being graded now, each with when its grading was handed out (time.monotonic())."""
        ...


@dataclass
class _Worker:
    process: Any
    conn: Connection
    job: Job | None = None   # the job it is grading
    started: float = 0.0     # when it was handed that job (time.monotonic())


class LocalPool:
    """``jobs`` worker processes on this machine, each grading one submission at a time with its own warm
    sandbox. On Linux workers are forked from a server that has imported the grader once (multiprocessing's
    forkserver, which imports no submission's code); elsewhere, or where the temporary folder's path is too
    long for the server's socket, they are spawned."""

    def __init__(self, workers: int):
        if workers < 1:
            raise BatchError(f"--jobs must be at least 1 (got {workers})")
        self.workers = workers
        # the forkserver's socket lives in the temporary folder, and a Unix socket's path has at most 107 bytes
        short = len(tempfile.gettempdir()) <= FORKSERVER_TMP_MAX
        method = "forkserver" if sys.platform.startswith("linux") and short else "spawn"
        self.ctx = multiprocessing.get_context(method)
        if method == "forkserver":
            self.ctx.set_forkserver_preload(["grader.batch.worker"])
        self.pool: list[_Worker] = []

    def _start(self) -> _Worker:
        ours, theirs = self.ctx.Pipe()
        process = self.ctx.Process(target=worker.serve, args=(theirs,), name="grader-batch-worker", daemon=True)
        process.start()
        theirs.close()
        w = _Worker(process, ours)
        self.pool.append(w)
        return w

    def start(self, jobs: int) -> None:
        while len(self.pool) < min(self.workers, jobs):
            self._start()

    def in_flight(self) -> list[tuple[str, float]]:
        return [(w.job.student, w.started) for w in list(self.pool) if w.job is not None]

    def run(self, jobs: Iterable[Job], settings: Settings) -> Iterator[Outcome]:
        pending = iter(jobs)
        more = True
        while True:
            while more and (len(self.pool) < self.workers or any(w.job is None for w in self.pool)):
                job = next(pending, None)
                if job is None:
                    more = False
                    break
                for idle in [w for w in self.pool if w.job is None and not w.process.is_alive()]:
                    self._drop(idle)  # gone while it waited: its replacement takes the job
                w = next((w for w in self.pool if w.job is None), None) or self._start()
                w.job, w.started = job, time.monotonic()
                try:
                    w.conn.send((job, settings))
                except OSError:
                    yield self._lost(w)
            busy = [w for w in self.pool if w.job is not None]
            if not busy:
                return
            ready = wait([w.conn for w in busy] + [w.process.sentinel for w in busy])
            for w in busy:
                if w.conn in ready or w.conn.poll():
                    try:
                        outcome = w.conn.recv()
                    except (EOFError, OSError):
                        yield self._lost(w)
                        continue
                    w.job = None
                    yield outcome
                elif w.process.sentinel in ready:
                    yield self._lost(w)

    def _lost(self, w: _Worker) -> Outcome:
        """The worker died while grading its job (killed, out of memory, a crash): that job fails, and
        the worker is replaced by a fresh one at the next job."""
        student, seconds = w.job.student if w.job else "", time.monotonic() - w.started
        w.process.join(1.0)
        code = w.process.exitcode
        how = f"killed by signal {-code}" if code is not None and code < 0 else f"exit code {code}"
        self._drop(w)
        return Outcome(student, error=f"the grading worker process died ({how}) while grading it", seconds=seconds)

    def _drop(self, w: _Worker) -> None:
        w.conn.close()
        if w.process.is_alive():
            w.process.kill()
        w.process.join(STOP_TIMEOUT_S)
        self.pool.remove(w)

    def close(self) -> None:
        for w in self.pool:
            if w.job is None:
                try:
                    w.conn.send(None)
                except OSError:
                    pass
            else:
                w.process.kill()  # its grading would be thrown away anyway
        deadline = time.monotonic() + STOP_TIMEOUT_S
        for w in list(self.pool):
            w.process.join(max(0.0, deadline - time.monotonic()))
            self._drop(w)


class DaskCluster:
    """The gradings as tasks on a Dask distributed cluster (``scheduler``: its address), or on a
    ``LocalCluster`` of ``workers`` processes started here when no address is given. Each job
    carries its submission's bytes, so worker machines need the grader, not the submissions."""

    def __init__(self, scheduler: str | None, workers: int):
        try:
            from distributed import Client, LocalCluster
        except ImportError:
            raise BatchError("--executor dask needs Dask distributed: pip install -c constraints.txt -e .[dask]") \
                from None
        self.cluster = None
        self.sent: dict[str, tuple[str, float]] = {}  # future key -> (student, when handed out)
        try:
            if scheduler:
                self.client = Client(scheduler, timeout="30s")
            else:
                self.cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                                            dashboard_address=None, scheduler_kwargs=NO_DASHBOARD)
                self.client = Client(self.cluster)
        except (OSError, TimeoutError, ValueError) as e:
            if self.cluster is not None:
                self.cluster.close()
            raise BatchError(f"cannot reach the Dask scheduler at {scheduler}: {e}") from None

    def start(self, jobs: int) -> None:
        """Nothing to wait for: Dask's workers run on their own, and take jobs as they come."""

    def in_flight(self) -> list[tuple[str, float]]:
        """Handed to the cluster and not back yet (some may still wait there for a free worker)."""
        return list(self.sent.values())

    def run(self, jobs_: Iterable[Job], settings: Settings) -> Iterator[Outcome]:
        from distributed import as_completed

        shared = self.client.scatter(settings, broadcast=True, hash=False)  # sent once, not with every job
        window = max(2, 2 * sum(self.client.nthreads().values()))
        pending = iter(jobs_)
        running = as_completed()
        by_key: dict[str, Job] = {}
        self.sent = {}

        def submit() -> bool:
            job = next(pending, None)
            if job is None:
                return False
            future = self.client.submit(worker.grade_job, jobs.pack(job), shared, pure=False,
                                        key=f"grade-{job.student}-{job.content_hash[-12:]}-{time.monotonic_ns()}")
            by_key[future.key] = job
            self.sent[future.key] = (job.student, time.monotonic())
            running.add(future)
            return True

        for _ in range(window):
            if not submit():
                break
        for future in running:
            job = by_key.pop(future.key)
            self.sent.pop(future.key, None)
            try:
                outcome = future.result()
            except Exception as e:  # the task itself failed: its worker died more often than Dask retries
                outcome = Outcome(job.student, error=f"the Dask task failed: {type(e).__name__}: {e}")
            future.release()
            yield outcome
            submit()

    def close(self) -> None:
        self.client.close()
        if self.cluster is not None:
            self.cluster.close()


def create(kind: str, workers: int, scheduler: str | None = None) -> Executor:
    if kind == "local":
        return LocalPool(workers)
    if kind == "dask":
        return DaskCluster(scheduler, workers)
    raise BatchError(f"unknown executor '{kind}' ({', '.join(EXECUTORS)})")
