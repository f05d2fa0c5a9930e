"""The in-process Runner: the course's own code (mutants, alternatives) run in this process, as the sandbox would.

Mutants are generated from trusted code, so they need no sandbox: each is imported in memory
as a fresh copy of the assignment's package, and runs with what matters for a verdict
mirrored from the child: inputs and outputs through the wire format (fresh tensors, lists
for tuples, markers for non-tensors), autograd off, the same run-time banned-operation guard,
the same driver (:func:`grader.sandbox.inside.child.run_driver`), and a time limit.
"""
from __future__ import annotations

import contextlib
import functools
import importlib.abc
import importlib.util
import itertools
import signal
import sys
import threading
import time
import types
from pathlib import Path
from typing import Any

import torch

from grader import paths
from grader.course.config import Limits
from grader.results import RunStatus
from grader.sandbox.inside import wire
from grader.sandbox.inside.child import own_gradient, run_driver
from grader.sandbox.inside.guard import Guard
from grader.sandbox.runner import Budget, Key, Request, Response
from grader.tasks import suites
from grader.tasks.model import Modules, Task


class Timeout(BaseException):
    """Code ran past its time limit (BaseException, so the code cannot catch it)."""


AGAIN_S = 0.1  # a Timeout raised where Python only reports it (a gc callback, a __del__) comes again this soon


class time_limit:
    """A limit on the wall clock (SIGALRM) or, with ``cpu=True``, on this process's CPU time (SIGPROF);
    a no-op off the main thread, where signals cannot be delivered. Once the limit is reached the signal
    comes again every :data:`AGAIN_S` until the block ends: a Timeout that lands in a gc callback or a
    ``__del__`` is only reported there, and the code would otherwise run on without a limit."""

    def __init__(self, seconds: float, cpu: bool = False):
        self.seconds = seconds
        self.active = threading.current_thread() is threading.main_thread()
        self.signal, self.timer = (signal.SIGPROF, signal.ITIMER_PROF) if cpu else (signal.SIGALRM, signal.ITIMER_REAL)

    def __enter__(self):
        if self.active:
            def expire(signum, frame):
                raise Timeout()
            self.previous = signal.signal(self.signal, expire)
            signal.setitimer(self.timer, self.seconds, AGAIN_S)
        return self

    def __exit__(self, *exc):
        if self.active:
            signal.setitimer(self.timer, 0)
            signal.signal(self.signal, self.previous)
        return False


class SourceFinder(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Imports packages from source text held in memory: ``{package: {module: (file, source)}}``."""

    def __init__(self) -> None:
        self.packages: dict[str, dict[str, tuple[str, str]]] = {}
        self.labels: dict[str, str] = {}  # package -> what its files' names say in tracebacks
        self.loaded: dict[str, list[str]] = {}  # package -> the modules imported from it, to forget

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
        self.loaded.setdefault(root, []).append(module.__name__)
        exec(_compiled(source, file + self.labels[root]), module.__dict__)

    def load(self, name: str, modules: dict[str, tuple[str, str]], label: str = " (audited copy)") -> Modules:
        """Import ``modules`` as the package ``name``; ``label`` follows each file's name in tracebacks
        (a mutant's says it is not the file on disk)."""
        self.unload(name)
        self.packages[name], self.labels[name] = modules, label
        return Modules(name)

    def unload(self, name: str) -> None:
        self.packages.pop(name, None)
        self.labels.pop(name, None)
        for key in self.loaded.pop(name, []):
            sys.modules.pop(key, None)


@functools.lru_cache(maxsize=256)
def _compiled(source: str, filename: str) -> types.CodeType:
    """A module's code, compiled once: a mutant changes one file, its package's others stay the same."""
    return compile(source, filename, "exec")


FINDER = SourceFinder()
sys.meta_path.insert(0, FINDER)
PACKAGES = itertools.count()  # fresh package names: each load is a new import


def package_sources(reference_dir: Path) -> dict[str, tuple[str, str]]:
    """The reference package as ``{module name within the package: (file, source)}``."""
    modules = {}
    for py in sorted(reference_dir.rglob("*.py")):
        rel = py.relative_to(reference_dir).with_suffix("")
        name = ".".join(rel.parts)
        name = "" if name == "__init__" else name.removesuffix(".__init__")
        modules[name] = (str(py), py.read_text(encoding="utf-8"))
    return modules


def roundtrip(tree: Any) -> Any:
    """What the sandbox's wire format makes of ``tree``: fresh tensors, lists for tuples, markers."""
    return wire.decode(wire.encode(tree))


def run_case(task: Task, m: Modules, inputs: dict, index: int, banned: tuple[str, ...] = (),
             own: int = 0, root: Path = paths.REFERENCE) -> tuple[Response, dict]:
    """Run one case like the sandboxed child does (banned operations included); returns the
    response and the inputs after the run. ``own``: as :attr:`Request.own_gradient`; ``root``: the
    folder whose code is the submission's (the guard blames only its lines). A :class:`Timeout`
    is not caught."""
    kw = roundtrip(inputs)
    guard = Guard(banned, str(root)) if banned else None
    with torch.no_grad(), guard if guard is not None else contextlib.nullcontext():
        ran, _ = run_driver(task, m, kw, keep=(Timeout,))
    if guard is not None and guard.violation is not None:
        return Response(task.id, index, RunStatus.BANNED, message=guard.violation.describe()), kw
    if ran.status != "ok":
        return Response(task.id, index, RunStatus(ran.status), message=ran.message), kw
    response = Response(task.id, index, RunStatus.OK, outputs=roundtrip(ran.outputs))
    if own and task.forward is not None:
        with torch.no_grad(), contextlib.suppress(Exception):  # diagnosis only, as in the child
            response.own_gradient = roundtrip(own_gradient(task, m, roundtrip(inputs), own))
    return response, kw


class InProcessRunner:
    """The :class:`grader.sandbox.runner.Runner` for trusted code, in this process.

    ``submission`` is an importable package (:class:`Modules`, e.g. one loaded by
    :data:`FINDER`) or an assignment's folder, loaded in memory as a fresh package. With
    ``task_limits``, each task runs under its course.yaml time limit; without, the caller
    bounds the whole run (the audit does, per mutant).
    """

    sandbox = None  # trusted code runs in this process, outside any sandbox

    def __init__(self, task_limits: bool = True):
        self.task_limits = task_limits

    def run(self, submission: Path | Modules, assignment: str, requests: list[Request],
            limits: dict[str, Limits], budget: Budget | None = None) -> dict[Key, Response]:
        suite = suites.load(assignment)
        name = None
        if isinstance(submission, Modules):
            m, root = submission, paths.REFERENCE
        else:
            name = f"_inprocess_{next(PACKAGES)}"
            m, root = FINDER.load(name, package_sources(Path(submission)), label=""), Path(submission).parent
        results: dict[Key, Response] = {}
        failed: dict[str, Response] = {}  # a task's first failing case ends the task
        try:
            for req in requests:
                if req.task in failed:
                    results[(req.task, req.case)] = failed[req.task].same_for(req)
                    continue
                if budget is not None and time.monotonic() >= budget.deadline:
                    failed[req.task] = Response(req.task, req.case, RunStatus.OUT_OF_BUDGET, before_run=True,
                                                message=f"not run: {budget.describe()} ran out before this task")
                    results[(req.task, req.case)] = failed[req.task]
                    continue
                response = self._one(suite.tasks[req.task], m, req, limits[req.task], root)
                results[(req.task, req.case)] = response
                if response.status != RunStatus.OK:
                    failed[req.task] = response
        finally:
            if name is not None:
                FINDER.unload(name)
        return results

    def _one(self, task: Task, m: Modules, req: Request, limit: Limits, root: Path) -> Response:
        started = time.monotonic()
        if not self.task_limits:
            response = run_case(task, m, req.inputs, req.case, req.banned, req.own_gradient, root)[0]
        else:
            try:
                with time_limit(limit.time_s):
                    response = run_case(task, m, req.inputs, req.case, req.banned, req.own_gradient, root)[0]
            except Timeout:
                response = Response(task.id, req.case, RunStatus.TIMEOUT,
                                    message=f"the task did not finish within its {limit.time_s:g} s limit")
        response.time_s = time.monotonic() - started
        return response
