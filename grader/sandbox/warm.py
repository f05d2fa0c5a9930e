"""Warm sandboxed children: a fork server per grader process pays for importing torch once.

A cold child (:class:`grader.sandbox.process.Child` started with ``python -I -S``) spends most of
its start-up importing torch. The fork server (:mod:`grader.sandbox.inside.forkserver`) is
started the same way, once per grader process, imports torch and the child-side code, and
then forks one child per sandbox session on the grader's order. Each forked child takes its
session's limits, environment and descriptors, enters the same isolation layers as a cold
child (:func:`grader.sandbox.inside.isolation.enter`) before any suite or student code is
imported, and serves that one session only.

What the server shares with its children, and why that is safe: its memory is that of a
fresh ``python -I -S`` that imported the standard library, torch, numpy and the grader's
child-side modules, from a directory holding nothing else. It is started by ``exec``, never
forked from the grader, so nothing of the grader's process (the reference, course.yaml, the
expected values, other submissions) is in it; it never reads a suite, a submission or a
request. A child forked from it therefore starts with exactly what a cold child has once it
has imported torch. ``tests/grader/sandbox/test_warm.py`` checks that a child's memory holds
no marker the grader's process holds, nor one of a submission the server's scan child read.

The scan child (:meth:`ForkServer.scan`): the static banned-operation scan needs torch's objects,
which a grading process that holds no torch of its own borrows from the server. On a "scan"
order the server forks a child that is not sandboxed (it runs the grader's own code and never a
submission's: the scan reads the submission's files, by their absolute paths, as the grading
process would). It imports the scan from the grader's installation, takes each call's jobs on its
request pipe and answers on its response pipe, kept for the process's next scans (its caches warm)
until the process closes the pipe. What it reads stays in it: the server only forks it, so the
children forked later for sandboxed sessions never hold a submission's text.
"""
from __future__ import annotations

import atexit
import contextlib
import json
import os
import select
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from grader.sandbox import bundle as bundles
from grader.sandbox import limits
from grader.sandbox.inside import isolation
from grader.sandbox.levels import Isolation

READY_TIMEOUT_S = 120.0
ORDER_TIMEOUT_S = 30.0
BOOT = (
    "import sys, json; c = json.loads(sys.argv[1]); del sys.argv[1:]; sys.path[:0] = c['paths']; "
    "import grader.sandbox.inside.forkserver as f; f.main(c)"
)


class ForkServerError(OSError):
    """The fork server did not start or did not answer: the grader falls back to cold children."""


def available() -> bool:
    """Whether this platform can run the fork server (Linux, with pidfds and descriptor passing)."""
    return sys.platform.startswith("linux") and hasattr(os, "pidfd_open") and hasattr(socket, "send_fds")


class Forked:
    """A child the fork server made, seen from the grader (which is not its parent): its pid and a pidfd.

    Offers what the grader uses of :class:`subprocess.Popen`: ``pid``, ``poll()`` and ``wait()``.
    """

    def __init__(self, pid: int, pidfd: int):
        self.pid, self._pidfd = pid, pidfd
        self.returncode: int | None = None

    def poll(self) -> int | None:
        if self.returncode is None and select.select([self._pidfd], [], [], 0)[0]:
            self._gone()
        return self.returncode

    def wait(self, timeout: float | None = None) -> int:
        if self.returncode is None:
            if not select.select([self._pidfd], [], [], timeout)[0]:
                raise subprocess.TimeoutExpired(f"pid {self.pid}", timeout or 0)
            self._gone()
        assert self.returncode is not None
        return self.returncode

    def _gone(self) -> None:
        self.returncode = -signal.SIGKILL  # its exit status goes to the fork server, which reaps it
        try:
            os.close(self._pidfd)
        except OSError:
            pass

    def __del__(self) -> None:
        if self.returncode is None:
            try:
                os.close(self._pidfd)
            except OSError:
                pass


class ForkServer:
    """One fork server process and the socket that gives it orders (one order at a time)."""

    def __init__(self) -> None:
        self._dir = Path(tempfile.mkdtemp(prefix="forkserver-"))
        self.owner = os.getpid()
        self._lock = threading.Lock()
        self._scan_lock = threading.Lock()  # one request at a time to the scan child
        self._scanners: dict[str, _ScanChild] = {}  # entry module -> its scan child, kept between calls
        self.verified: dict[tuple, bool] = {}  # (isolation, device) -> whether its probe held in a forked child
        bundle = self._dir / "bundle"
        bundles.copy_child_code(bundle / "_grader" / "grader")
        (bundle / "work").mkdir()
        bundles.readable(self._dir)
        self.bundle = str(bundle)
        mine, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        self._sock = mine
        config = {"paths": [str(bundle / "_grader"), *bundles.site_dirs()], "sock_fd": theirs.fileno(),
                  "bundle": self.bundle}
        self.log_path = self._dir / "server.log"
        log = os.open(self.log_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            self.proc = subprocess.Popen(
                [sys.executable, "-I", "-S", "-c", BOOT, json.dumps(config)], cwd=bundle / "work",
                env={**bundles.CHILD_ENV, "HOME": str(bundle / "work")}, stdin=subprocess.DEVNULL, stdout=log,
                stderr=log,
                pass_fds=(theirs.fileno(),), start_new_session=True, close_fds=True,
                preexec_fn=lambda: isolation._prctl(isolation.PR_SET_PDEATHSIG, signal.SIGKILL))
        finally:
            os.close(log)
            theirs.close()
        self.ready = False  # its "ready" not read yet: it is importing torch (wait_ready)

    def wait_ready(self) -> None:
        """Wait until the server has imported torch and the child-side code (at once after the first time);
        raises :class:`ForkServerError` (the server closed) where it did not start."""
        if self.ready:
            return
        self._sock.settimeout(READY_TIMEOUT_S)
        try:
            ready = json.loads(self._sock.recv(4096) or b"{}")
        except (OSError, ValueError):
            ready = {}
        if not ready.get("ready"):
            tail = self._log_tail()
            self.close()
            raise ForkServerError(0, f"the fork server did not start ({ready or 'no answer'}): {tail}")
        self._sock.settimeout(ORDER_TIMEOUT_S)
        self.ready = True

    def fork(self, config: dict, env: dict[str, str], limits: dict, fds: tuple[int, int, int],
             probe: list[str] | None = None) -> Forked:
        """A new child for ``config`` (the cold child's configuration), with these descriptors:
        its request pipe, its response pipe and its log (the caller keeps and closes its copies).
        ``probe``: the paths that must be hidden; the child then runs the isolation probe instead,
        writing the layers that hold to its log."""
        return self._order({"config": config, "env": env, "limits": limits,
                            **({"probe": probe} if probe is not None else {})}, fds)

    def scan(self, entry: str, request: bytes, timeout: float) -> bytes:
        """The scan child's answer to ``request``. The child, forked on the first call and kept for the next
        ones (its caches warm, as this process's would be), is not sandboxed: it runs ``serve(request_fd,
        response_fd)`` of ``entry``, a module of the grader's installation (see the module's docstring), which
        answers each length-prefixed request in turn until its request pipe closes. Raises
        :class:`ForkServerError` where the child did not start or ended without answering, and
        :class:`TimeoutError` where it did not answer within ``timeout`` seconds; either way the child is
        gone and the next call forks a new one."""
        deadline = time.monotonic() + timeout
        with self._scan_lock:
            child = self._scanners.pop(entry, None)
            if child is None or child.proc.poll() is not None:
                if child is not None:
                    child.close()
                child = _ScanChild(self, entry)
            try:
                write_within(child.request, len(request).to_bytes(8, "big") + request, deadline)
                answer = _received(child.response, int.from_bytes(_received(child.response, 8, deadline), "big"),
                                   deadline)
            except TimeoutError:
                child.close()
                raise
            except OSError as e:  # its end closed, or it ended mid-answer: it died
                raise ForkServerError(0, f"the scan child ended without an answer ({e}): {child.close()}") from None
            self._scanners[entry] = child
            return answer

    def _order(self, body: dict, fds: tuple[int, int, int]) -> Forked:
        order = json.dumps(body).encode()
        with self._lock:
            try:
                socket.send_fds(self._sock, [order], list(fds))
                data, got, _, _ = socket.recv_fds(self._sock, 4096, 1)
            except OSError as e:
                raise ForkServerError(e.errno or 0, f"the fork server did not answer: {e}") from None
        reply = json.loads(data or b"{}")
        if "pid" not in reply or len(got) != 1:
            for fd in got:
                os.close(fd)
            raise ForkServerError(0, f"the fork server refused the order: {reply.get('error', 'no answer')}")
        return Forked(int(reply["pid"]), got[0])

    def alive(self) -> bool:
        return self.proc.poll() is None

    def _log_tail(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-2000:]
        except OSError:
            return ""

    def close(self) -> None:
        """Stop the server (closing its socket ends its loop; its session is then killed) and its scan children."""
        if os.getpid() == self.owner:
            for child in self._scanners.values():
                child.close()
            self._scanners.clear()
        try:
            self._sock.close()
        except OSError:
            pass
        if os.getpid() == self.owner:
            if not self.ready:  # still importing, never used: nothing of it to wait for
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.killpg(self.proc.pid, signal.SIGKILL)
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                try:
                    os.killpg(self.proc.pid, signal.SIGKILL)
                except (ProcessLookupError, PermissionError):
                    pass
                self.proc.wait()
            shutil.rmtree(self._dir, ignore_errors=True)


class _ScanChild:
    """The scan child of one fork server (:meth:`ForkServer.scan`), seen from the grader: the process, the
    ends of its two pipes this process holds, and its log."""

    def __init__(self, server: ForkServer, entry: str):
        req_r, self.request = os.pipe()
        self.response, resp_w = os.pipe()
        os.set_blocking(self.request, False)
        self.log = tempfile.TemporaryFile(prefix="scan-")
        paths = [p for p in sys.path if os.path.isabs(p)]  # where scipy or Babel are, should the scan need them
        try:
            self.proc = server._order({"scan": {"entry": entry, "grader": str(bundles.GRADER_DIR), "paths": paths}},
                                      (req_r, resp_w, self.log.fileno()))
        except BaseException:
            self.proc = None
            self.close()
            raise
        finally:
            os.close(req_r)
            os.close(resp_w)

    def close(self) -> str:
        """Kill it (where it still runs), close this process's ends; the tail of its log."""
        if self.proc is not None and self.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(self.proc.pid, signal.SIGKILL)
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.proc.wait(5)
        for fd in (self.request, self.response):
            with contextlib.suppress(OSError):
                os.close(fd)
        self.request = self.response = -1
        try:
            self.log.seek(0)
            return self.log.read()[-2000:].decode(errors="replace")
        except (OSError, ValueError):
            return ""
        finally:
            self.log.close()


def write_within(fd: int, data: bytes, deadline: float) -> None:
    """All of ``data`` into the non-blocking pipe ``fd`` by ``deadline``: :class:`TimeoutError` where the other
    end does not take it in time, the :class:`OSError` of a write where that end is gone. Shared by the
    grader's writes to its sandboxed children (:meth:`grader.sandbox.process.Child.write`) and to the scan child."""
    view = memoryview(data)
    while view:
        left = deadline - time.monotonic()
        if left <= 0 or not select.select([], [fd], [], left)[1]:
            raise TimeoutError("the other end did not take what was written in time")
        try:
            view = view[os.write(fd, view[:1 << 16]):]
        except BlockingIOError:
            continue  # filled between the select and the write: wait for room again


def _received(fd: int, size: int, deadline: float) -> bytes:
    """``size`` bytes read from the pipe ``fd`` by ``deadline`` (:class:`TimeoutError` else; a
    :class:`ConnectionError` where its other end closes first)."""
    chunks, left = [], size
    while left:
        if not select.select([fd], [], [], max(0.0, deadline - time.monotonic()))[0]:
            raise TimeoutError("the scan child did not answer in time")
        chunk = os.read(fd, min(left, 1 << 16))
        if not chunk:
            raise ConnectionError("its response pipe closed")
        chunks.append(chunk)
        left -= len(chunk)
    return b"".join(chunks)


_server: ForkServer | None = None
_server_lock = threading.Lock()


def server() -> ForkServer | None:
    """This process's fork server, started on first use; None where it cannot run (cold children then).

    A process forked from one that had a server starts its own: the socket belongs to its parent.
    """
    global _server
    if not available():
        return None
    with _server_lock:
        if _server is not None and (_server.owner != os.getpid() or not _server.alive()):
            if _server.owner == os.getpid():
                _server.close()
            _server = None
        try:
            if _server is None:
                _server = ForkServer()
            _server.wait_ready()
        except ForkServerError:
            _server = None
            return None  # cold children, with the same verdicts
        return _server


def running() -> ForkServer | None:
    """This process's fork server where one was started (waiting until it is ready), never starting one."""
    with _server_lock:
        started = _server is not None and _server.owner == os.getpid()
    return server() if started else None


def start_now() -> None:
    """Start this process's fork server now without waiting for it: its torch import then overlaps the
    grader's own start (a command that will grade calls this first, before it imports torch), and
    :func:`server` waits for it to be ready. From the thread that lives as long as the process (the
    server is killed when the thread that started it ends)."""
    global _server
    if not available():
        return
    with _server_lock:
        if _server is None or _server.owner != os.getpid():
            try:
                _server = ForkServer()
            except ForkServerError:
                _server = None


def for_level(iso: Isolation, device: str) -> ForkServer | None:
    """This process's fork server, once the isolation probe has held in a child it forked for ``iso``
    on ``device`` (checked once per server); None (cold children) where it has not or cannot run."""
    found = server()
    if found is None:
        return None
    key = (iso, device)
    if key not in found.verified:
        found.verified[key] = probe(found, iso, device)
    return found if found.verified[key] else None


def probe(server: ForkServer, iso: Isolation, device: str, hidden: list[str] | None = None) -> bool:
    """The isolation probe (:func:`grader.sandbox.levels.detect`'s), in a child forked from ``server``: every
    layer of ``iso`` set up and verified from inside (``hidden``: what must not be readable there; default,
    what a session hides)."""
    with tempfile.TemporaryDirectory(prefix="probe-") as tmp:
        root = Path(tmp)
        bundle, plan = bundles.probe_layout(root, iso.layers, iso.via, device)
        req_r, req_w = os.pipe()
        resp_r, resp_w = os.pipe()
        log = root / "probe.log"
        fd = os.open(log, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        config = {"paths": [plan["code"], *bundles.site_dirs()], "isolation": plan}
        child = None
        try:
            child = server.fork(config, bundles.child_env(bundle, iso.layers),
                                limits.rlimits(4096, 60, device, limits.outer_nproc(iso.via)), (req_r, resp_w, fd),
                                probe=bundles.hidden() if hidden is None else hidden)
            child.wait(30)
            why = json.loads(log.read_bytes() or b"{}")
        except (ForkServerError, subprocess.TimeoutExpired, ValueError, OSError):
            if child is not None and child.poll() is None:
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.killpg(child.pid, signal.SIGKILL)
            return False
        finally:
            for end in (fd, req_r, req_w, resp_r, resp_w):
                os.close(end)
    return isinstance(why, dict) and set(why) == set(iso.layers) and not any(why.values())


def shutdown() -> None:
    """Stop this process's fork server, if it has one."""
    global _server
    with _server_lock:
        if _server is not None and _server.owner == os.getpid():
            _server.close()
        _server = None


atexit.register(shutdown)
