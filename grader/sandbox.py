"""Runs a submission's tasks in a child process with limits, and collects its responses.

The child gets a fresh temporary directory holding copies of the child driver, the
assignment's suite module and the submission's assignment folder; a clean environment;
``python -I -S`` (no site, no user paths, so neither the reference nor the grader's
installation is importable); its own session; CPU-time, address-space, file-size and
core-dump limits. Requests go one at a time, each task under its own wall-clock budget:
a task that hangs or kills the process costs that task only, and a fresh child carries
on with the rest.
"""
from __future__ import annotations

import json
import os
import queue
import resource
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable

import numpy
import torch

from grader import wire

GRADER_DIR = Path(__file__).resolve().parent
STARTUP_TIMEOUT_S = 120.0
OUTPUT_TAIL = 4000


@dataclass(frozen=True)
class Request:
    task: str
    case: int
    inputs: dict[str, Any]
    own_gradient: int = 0  # max elements for the self-consistency check; 0 = skip


@dataclass
class Response:
    """What the child said about one request (or what the grader saw happen to it)."""

    task: str
    case: int
    status: str  # ok | not_implemented | error | timeout | crashed
    outputs: dict[str, Any] = field(default_factory=dict)
    own_gradient: dict[str, Any] = field(default_factory=dict)
    message: str = ""
    traceback: str = ""
    stdout: str = ""
    signature: list[str] | None = None


@dataclass(frozen=True)
class Limits:
    time_s: float      # wall-clock budget of one task, all its cases together
    memory_mb: int     # address-space cap of the child (CPU runs)


def _site_dirs() -> list[str]:
    """Directories holding torch and numpy, added to the child's path without running .pth files."""
    dirs = []
    for mod in (torch, numpy):
        d = str(Path(mod.__file__).resolve().parent.parent)
        if d not in dirs:
            dirs.append(d)
    return dirs


BOOT = (
    "import sys, json; c = json.loads(sys.argv[1]); sys.path[:0] = c['paths']; "
    "import grader.child as g; g.main()"
)


def _bundle(root: Path, assignment: str, submission: Path) -> Path:
    """Lay out the child's directory: the driver package, the suite, the submission copy."""
    pkg = root / "_grader" / "grader"
    (pkg / "suites").mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    (pkg / "suites" / "__init__.py").write_text("")
    for name in ("child.py", "wire.py", "spec.py"):
        shutil.copy2(GRADER_DIR / name, pkg / name)
    shutil.copy2(GRADER_DIR / "suites" / f"{assignment}.py", pkg / "suites" / f"{assignment}.py")
    sub_root = root / "submission"
    shutil.copytree(submission, sub_root / assignment,
                    ignore=shutil.ignore_patterns("__pycache__", "*.pyc", ".*"), symlinks=False)
    work = root / "work"
    work.mkdir()
    return sub_root


def _limit(memory_mb: int, cpu_s: int, device: str):
    def apply() -> None:
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
        resource.setrlimit(resource.RLIMIT_CPU, (cpu_s, cpu_s + 5))
        resource.setrlimit(resource.RLIMIT_FSIZE, (64 * 2**20, 64 * 2**20))
        if device == "cpu":  # CUDA reserves large virtual ranges; GPU memory is capped in torch
            resource.setrlimit(resource.RLIMIT_AS, (memory_mb * 2**20, memory_mb * 2**20))
    return apply


class Child:
    """One sandboxed child process and the thread that reads its responses."""

    def __init__(self, root: Path, sub_root: Path, assignment: str, device: str, limits: Limits,
                 cpu_budget_s: int):
        req_r, self._req_w = os.pipe()
        resp_r, resp_w = os.pipe()
        self.log_path = root / f"child-{time.monotonic_ns()}.log"
        config = {"paths": [str(root / "_grader"), *_site_dirs()], "req_fd": req_r, "resp_fd": resp_w,
                  "submission_root": str(sub_root), "assignment": assignment, "device": device,
                  "threads": 1}
        env = {"PATH": "/usr/bin:/bin", "HOME": str(root / "work"), "LANG": "C.UTF-8",
               "PYTHONHASHSEED": "0", "PYTHONDONTWRITEBYTECODE": "1", "OMP_NUM_THREADS": "1",
               "MKL_NUM_THREADS": "1", "CUBLAS_WORKSPACE_CONFIG": ":4096:8"}
        with open(self.log_path, "wb") as log:
            self.proc = subprocess.Popen(
                [sys.executable, "-I", "-S", "-c", BOOT, json.dumps(config)],
                cwd=root / "work", env=env, stdin=subprocess.DEVNULL, stdout=log, stderr=log,
                pass_fds=(req_r, resp_w), start_new_session=True, close_fds=True,
                preexec_fn=_limit(limits.memory_mb, cpu_budget_s, device))
        os.close(req_r)
        os.close(resp_w)
        os.set_blocking(self._req_w, False)
        self._responses: queue.Queue = queue.Queue()
        self._reader = threading.Thread(target=self._read, args=(resp_r,), daemon=True)
        self._reader.start()

    def _read(self, fd: int) -> None:
        with os.fdopen(fd, "rb", buffering=0) as stream:
            while True:
                try:
                    self._responses.put(wire.read_message(stream))
                except EOFError:
                    self._responses.put(EOFError())
                    return
                except wire.WireError as e:
                    self._responses.put(e)
                    return

    def send(self, request: Request, deadline: float) -> bool:
        """Write one request without ever blocking past ``deadline`` (a child may stop reading)."""
        data = wire.encode({"task": request.task, "case": request.case, "inputs": request.inputs,
                            "own_gradient": request.own_gradient})
        view = memoryview(data)
        while view:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return False
            _, ready, _ = select.select([], [self._req_w], [], remaining)
            if not ready:
                return False
            try:
                n = os.write(self._req_w, view[:65536])
            except (BrokenPipeError, BlockingIOError, OSError):
                return False
            view = view[n:]
        return True

    def receive(self, timeout: float) -> Any:
        """The next message, or ``TimeoutError`` / ``EOFError`` / ``WireError`` as a value."""
        try:
            return self._responses.get(timeout=max(timeout, 0.0))
        except queue.Empty:
            return TimeoutError()

    def output_tail(self) -> str:
        try:
            data = self.log_path.read_bytes()[-OUTPUT_TAIL:]
        except OSError:
            return ""
        return data.decode("utf-8", "replace")

    def kill(self) -> None:
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        try:
            os.close(self._req_w)
        except OSError:
            pass
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            pass


def run_tasks(submission: Path, assignment: str, requests: Iterable[Request], device: str,
              limits: dict[str, Limits]) -> dict[tuple[str, int], Response]:
    """Run every request in sandboxed children; every request gets a response, whatever happens."""
    pending = list(requests)
    results: dict[tuple[str, int], Response] = {}
    by_task: dict[str, list[Request]] = {}
    for r in pending:
        by_task.setdefault(r.task, []).append(r)
    memory = max(limits[t].memory_mb for t in by_task) if by_task else 0
    cpu_budget = int(sum(limits[t].time_s for t in by_task)) + 60
    with tempfile.TemporaryDirectory(prefix="grade-") as tmp:
        root = Path(tmp)
        sub_root = _bundle(root, assignment, submission)
        child: Child | None = None
        try:
            for task, reqs in by_task.items():
                deadline = None
                for req in reqs:
                    if child is None:
                        child = Child(root, sub_root, assignment, device,
                                      Limits(limits[task].time_s, memory), cpu_budget)
                        ready = child.receive(STARTUP_TIMEOUT_S)
                        if not (isinstance(ready, dict) and ready.get("ready")):
                            tail = child.output_tail()
                            child.kill()
                            child = None
                            for r in reqs[reqs.index(req):]:
                                results[(r.task, r.case)] = Response(
                                    r.task, r.case, "crashed",
                                    message="the sandboxed process did not start", stdout=tail)
                            break
                    if deadline is None:
                        deadline = time.monotonic() + limits[task].time_s
                    if not child.send(req, deadline):
                        reply: Any = TimeoutError() if child.proc.poll() is None else EOFError()
                    else:
                        reply = child.receive(deadline - time.monotonic())
                    if isinstance(reply, dict) and reply.get("task") == req.task and reply.get("case") == req.case:
                        results[(req.task, req.case)] = _response(req, reply)
                        continue
                    # The child hung, died or spoke out of turn: this task is lost, the rest carry on.
                    tail = child.output_tail()
                    child.kill()
                    child = None
                    status, message = _failure(reply, limits[task].time_s)
                    for r in reqs[reqs.index(req):]:
                        results[(r.task, r.case)] = Response(r.task, r.case, status, message=message,
                                                             stdout=tail)
                    break
        finally:
            if child is not None:
                child.kill()
    return results


def _failure(reply: Any, time_s: float) -> tuple[str, str]:
    if isinstance(reply, TimeoutError):
        return "timeout", f"the task did not finish within its {time_s:g} s limit"
    if isinstance(reply, wire.WireError):
        return "error", f"the sandboxed process sent a malformed answer ({reply})"
    if isinstance(reply, dict):
        return "error", "the sandboxed process answered out of turn"
    return "crashed", "the sandboxed process exited during this task (sys.exit, os._exit, a crash or a resource limit)"


def _response(req: Request, reply: dict) -> Response:
    status = reply.get("status")
    if status not in ("ok", "not_implemented", "error"):
        return Response(req.task, req.case, "error", message=f"unknown status {status!r}")
    outputs = reply.get("outputs") if isinstance(reply.get("outputs"), dict) else {}
    own = reply.get("own_gradient") if isinstance(reply.get("own_gradient"), dict) else {}
    sig = reply.get("signature")
    return Response(req.task, req.case, status, outputs=outputs, own_gradient=own,
                    message=str(reply.get("message", ""))[:1000],
                    traceback=str(reply.get("traceback", ""))[-OUTPUT_TAIL:],
                    stdout=str(reply.get("stdout", ""))[-OUTPUT_TAIL:],
                    signature=[str(s) for s in sig] if isinstance(sig, list) else None)
