"""One sandboxed child process, seen from the grader: starting it (forked warm or cold) and talking to it.

The child gets a fresh bundle (:mod:`grader.sandbox.bundle`), a clean environment,
``python -I -S`` (no site, no user paths), its own session, stdin closed, and its resource
limits (:mod:`grader.sandbox.limits`); it enters its isolation layers before it imports the
suite or any submission code. Messages go both ways in the pickle-free wire format, one
request at a time (:mod:`grader.sandbox.inside.messages`); a reader thread collects the
answers, so a child that stops answering never blocks the grader.
"""
from __future__ import annotations

import functools
import json
import os
import queue
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

from grader.course.config import Limits
from grader.sandbox import bundle as bundles
from grader.sandbox import limits as resource_limits
from grader.sandbox import warm as warm_children
from grader.sandbox.inside import isolation, wire
from grader.sandbox.inside.messages import ImportRequest, Reply, TaskRequest
from grader.sandbox.levels import Isolation

OUTPUT_TAIL = 4000
MAX_RESPONSE_BYTES = 128 * 2**20
BOOT = (
    "import sys, json; c = json.loads(sys.argv[1]); del sys.argv[1:]; sys.path[:0] = c['paths']; "
    "import grader.sandbox.inside.isolation as iso; b = iso.enter(c['isolation']); "
    "iso.remap_into(c['isolation'], b); import grader.sandbox.inside.child as g; g.main(c, b)"
)


class Child:
    """One sandboxed child process and the thread that reads its responses."""

    def __init__(self, root: Path, bundle: Path, assignment: str, device: str, limits: Limits,
                 cpu_budget_s: int, iso: Isolation, warm: bool = False, code: Path | None = None):
        req_r, self._req_w = os.pipe()
        resp_r, resp_w = os.pipe()
        self.log_path = root / f"child-{time.monotonic_ns()}.log"
        self.bundle = str(bundle)
        plan = bundles.layout(root, bundle, iso.layers, iso.via, device, [req_r, resp_w], code)
        config = {"paths": [plan["code"], *bundles.site_dirs()], "req_fd": req_r, "resp_fd": resp_w,
                  "assignment": assignment, "device": device, "threads": 1, "memory_mb": limits.memory_mb,
                  "isolation": plan}
        env = bundles.child_env(bundle, iso.layers)
        rlimits = resource_limits.rlimits(limits.memory_mb, cpu_budget_s, device, resource_limits.outer_nproc(iso.via))
        fd = os.open(self.log_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        self.proc: subprocess.Popen | warm_children.Forked | None = None
        try:
            server = warm_children.for_level(iso, device) if warm else None
            if server is not None:
                try:
                    self.proc = server.fork(config, env, rlimits, (req_r, resp_w, fd))
                except warm_children.ForkServerError:
                    warm_children.shutdown()  # a fresh server next time; this child starts cold
            if self.proc is None:
                self.proc = subprocess.Popen(
                    [sys.executable, "-I", "-S", "-c", BOOT, json.dumps(config)],
                    cwd=bundle / "work", env=env, stdin=subprocess.DEVNULL, stdout=fd, stderr=fd,
                    pass_fds=(req_r, resp_w), start_new_session=True, close_fds=True,
                    preexec_fn=functools.partial(isolation.apply_limits, **rlimits))
        finally:
            os.close(fd)
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
                    self._responses.put(Reply.read(wire.read_message(stream, MAX_RESPONSE_BYTES, tensors=False)))
                except EOFError:
                    self._responses.put(EOFError())
                    return
                except wire.WireError as e:
                    self._responses.put(e)
                    return
                except Exception as e:  # e.g. a header nested deep enough to exhaust the recursion limit
                    self._responses.put(wire.WireError(f"unreadable message: {type(e).__name__}"))
                    return

    def send(self, request: TaskRequest | ImportRequest, deadline: float) -> bool:
        """Write one request without ever blocking past ``deadline`` (a child may stop reading)."""
        return self.write(self.encode(request), deadline)

    @staticmethod
    def encode(request: TaskRequest | ImportRequest) -> bytes:
        return wire.encode(request.to_wire())

    def write(self, data: bytes, deadline: float) -> bool:
        """Write one encoded request without ever blocking past ``deadline``; False where it was not all written
        (the child stopped reading, or is gone)."""
        try:
            warm_children.write_within(self._req_w, data, deadline)
        except OSError:  # TimeoutError included
            return False
        return True

    def receive(self, timeout: float) -> Any:
        """The next message (:meth:`Reply.read`'s), or ``TimeoutError`` / ``EOFError`` / ``WireError`` as a value."""
        try:
            return self._responses.get(timeout=max(timeout, 0.0))
        except queue.Empty:
            return TimeoutError()

    def output_tail(self) -> str:
        try:
            with open(self.log_path, "rb") as f:
                f.seek(max(0, os.path.getsize(self.log_path) - OUTPUT_TAIL))
                data = f.read(OUTPUT_TAIL)
        except OSError:
            return ""
        return bundles.shown(data.decode("utf-8", "replace"), self.bundle)

    def close_requests(self) -> None:
        if self._req_w >= 0:  # once only: a closed number may already belong to another file
            try:
                os.close(self._req_w)
            except OSError:
                pass
            self._req_w = -1

    def kill(self) -> None:
        """Kill the whole tree: the session's process group, and with it the PID namespace."""
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        self.close_requests()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            pass
