"""Runs a submission's tasks in a sandboxed child process with limits, and collects its responses.

Always: a fresh temporary directory holding copies of the child driver, the assignment's
suite module and the submission; a clean environment; ``python -I -S`` (no site, no user
paths); its own session; stdin closed; CPU-time, address-space, process, file-size,
open-file and core-dump limits; a wall-clock budget per task after which the whole
process tree is killed. Where the machine allows it (root, or an ordinary user where user
namespaces are allowed, see :mod:`grader.sandbox.inside.isolation`) also no network, its own PID namespace,
a uid of its own and a private file system.
Requests go one at a time, each with a fresh token the answer must echo: a task that hangs
or kills the process costs that task only, and a fresh child carries on with the rest.
"""
from __future__ import annotations

import contextlib
import functools
import itertools
import json
import os
import queue
import resource
import secrets
import select
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy
import torch

from grader import paths
from grader.course.config import Limits
from grader.results import RunStatus, SandboxInfo
from grader.sandbox import warm as warm_children
from grader.sandbox.inside import isolation, wire
from grader.sandbox.runner import Budget, Key, Request, Response

GRADER_DIR = Path(__file__).resolve().parent.parent
STARTUP_TIMEOUT_S = 120.0
OUTPUT_TAIL = 4000
FILE_SIZE_MB = 64        # largest file the child may write (its captured output included)
OPEN_FILES = 256
NPROC = 64               # processes and threads under the sandbox's own uid
TMP_MB, WORK_MB = 16, 64  # private /tmp and working directory (file-system layer)
MAX_RESPONSE_BYTES = 128 * 2**20
RETIRE_TIMEOUT_S = 5.0   # a child told to stop has this long to exit on its own
SPARE_AFTER_S = 3.0      # a request still running this long gets a spare process started beside it
SHOWN_ROOT = isolation.SANDBOX  # bundle paths in messages read the same on every run and level
CHILD_ENV = {"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8", "PYTHONHASHSEED": "0", "PYTHONDONTWRITEBYTECODE": "1",
             "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1",
             "CUBLAS_WORKSPACE_CONFIG": ":4096:8"}  # and HOME, the child's work directory


@dataclass(frozen=True)
class Isolation:
    """The isolation level a grading ran under, the optional layers it has, and how they were made."""

    level: str
    layers: tuple[str, ...]
    via: str | None = None  # root | user-namespace; None at the process level

    def info(self) -> SandboxInfo:
        missing = [layer for layer in isolation.LAYERS["full"] if layer not in self.layers]
        return SandboxInfo(self.level, ["session", "clean-environment", "resource-limits", "timeout", *self.layers],
                           missing, self.via)

    def describe(self) -> str:
        return self.info().describe()


class IsolationRefused(Exception):
    """The machine cannot give the isolation level that was required."""


def _site_dirs() -> list[str]:
    """Directories holding torch and numpy, added to the child's path without running .pth files."""
    dirs = []
    for mod in (torch, numpy):
        d = str(Path(mod.__file__).resolve().parent.parent)
        if d not in dirs:
            dirs.append(d)
    return dirs


SYSTEM_DIRS = ["/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32", "/etc"]


def _binds(device: str) -> list[str]:
    """What the private file system shows, read-only: the system's libraries and the Python installation."""
    python = [sys.base_prefix, str(Path(sys.base_prefix).resolve()), *_site_dirs()]
    return list(dict.fromkeys(SYSTEM_DIRS + python + (["/sys"] if device == "cuda" else [])))


def _hidden() -> list[str]:
    """What the child must not read, wherever it is installed: the reference, the grader, course.yaml (and a
    student repository's frozen expected values)."""
    found = [paths.REFERENCE, paths.COURSE, paths.ROOT / "fixtures", paths.ROOT / "grader", GRADER_DIR]
    for site in _site_dirs():  # a non-editable install puts both packages in site-packages
        found += [Path(site) / "reference", Path(site) / "grader"]
    return list(dict.fromkeys(str(p) for p in found))


def _devices(device: str) -> list[str]:
    devs = ["/dev/null", "/dev/zero", "/dev/full", "/dev/random", "/dev/urandom"]
    if device == "cuda":
        devs += sorted(str(p) for p in Path("/dev").glob("nvidia*"))
    return devs


_uids = iter(range(10**9))


def _sandbox_uid() -> int:
    """A uid no one else uses, so a fork bomb or kill(-1) reaches only this sandbox's processes."""
    return 200_000 + (os.getpid() % 20_000) * 64 + next(_uids) % 64


BOOT = (
    "import sys, json; c = json.loads(sys.argv[1]); del sys.argv[1:]; sys.path[:0] = c['paths']; "
    "import grader.sandbox.inside.isolation as iso; b = iso.enter(c['isolation']); "
    "iso.remap_modules(c['isolation']['bundle'], b); import grader.sandbox.inside.child as g; g.main(c, b)"
)
PROBE = (
    "import sys, json; c = json.loads(sys.argv[1]); sys.path[:0] = c['paths']; "
    "import grader.sandbox.inside.verify as v; v.probe(c['isolation'], c['hidden'])"
)
# What crosses into the child, and nothing else: the folders whose code the child runs. Both import
# only the standard library, torch, numpy and each other (tests/grader/test_import_rules.py).
CHILD_PACKAGES = ("tasks", "sandbox/inside")


def _copy_child_code(pkg: Path, assignment: str | None) -> None:
    """The grader's child-side code under ``pkg`` (``grader/``), with only this assignment's suite."""
    for folder in ("", "sandbox") + CHILD_PACKAGES + ("tasks/suites",):
        (pkg / folder).mkdir(parents=True, exist_ok=True)
        (pkg / folder / "__init__.py").write_text("")  # the host's package docstrings stay at home
    for folder in CHILD_PACKAGES:
        for src in (GRADER_DIR / folder).glob("*.py"):
            if src.name != "__init__.py":
                shutil.copy2(src, pkg / folder / src.name)
    shutil.copy2(GRADER_DIR / "tasks" / "suites" / "__init__.py", pkg / "tasks" / "suites" / "__init__.py")
    if assignment is not None:
        suite = Path("tasks") / "suites" / f"{assignment}.py"
        shutil.copy2(GRADER_DIR / suite, pkg / suite)


def _bundle(root: Path, assignment: str | None, submission: Path | None) -> Path:
    """Lay out the child's directory: the driver package, the suite, the submission copy, a work dir."""
    os.chmod(root, 0o711)  # the sandbox's uid may pass through, not list (the log lives here)
    bundle = root / "bundle"
    _copy_child_code(bundle / "_grader" / "grader", assignment if submission is not None else None)
    sub_root = bundle / "submission"
    sub_root.mkdir()
    if assignment is not None and submission is not None:
        shutil.copytree(submission, sub_root / assignment, ignore=_not_copied)
    (bundle / "work").mkdir()
    (root / "newroot").mkdir()
    for d, _, files in os.walk(bundle):
        os.chmod(d, 0o755)
        for f in files:
            os.chmod(os.path.join(d, f), 0o644)
    return bundle


def _not_copied(folder: str, names: list[str]) -> set[str]:
    """Only regular files and folders: a symlink could point at the reference; a FIFO or device is no code."""
    skip = set()
    for name in names:
        try:
            mode = os.lstat(os.path.join(folder, name)).st_mode
        except OSError:
            skip.add(name)
            continue
        if name == "__pycache__" or name.startswith(".") or name.endswith(".pyc") or \
                not (stat.S_ISREG(mode) or stat.S_ISDIR(mode)):
            skip.add(name)
    return skip


def _plan(root: Path, bundle: Path, iso: Isolation, device: str, keep: list[int]) -> dict:
    uid = _sandbox_uid()
    if "uid" in iso.layers and "filesystem" not in iso.layers and os.geteuid() == 0:
        os.chown(bundle / "work", uid, uid)  # an ordinary user's child is that user outside: it owns it already
        os.chmod(bundle / "work", 0o700)
    python = [p for p in sys.path if p.startswith(sys.base_prefix) and os.path.isdir(p)] + _site_dirs()
    return {"layers": list(iso.layers), "via": iso.via, "uid": uid, "device": device, "bundle": str(bundle),
            "root_dir": str(root / "newroot"), "binds": _binds(device), "hide": _hidden(), "python": python,
            "devices": _devices(device), "tmp_mb": TMP_MB, "work_mb": WORK_MB,
            "keep_fds": keep, "nproc": _sandbox_nproc(iso),
            "outer_gid": os.getgid(), "outer_groups": [] if os.geteuid() == 0 else os.getgroups()}




def _limits(memory_mb: int, cpu_s: int, device: str, nproc: int | None) -> dict:
    """The child's resource limits, as :func:`isolation.apply_limits` takes them."""
    return {"memory_mb": memory_mb, "cpu_s": cpu_s, "device": device, "nproc": nproc, "file_mb": FILE_SIZE_MB,
            "open_files": OPEN_FILES}


def _limit(memory_mb: int, cpu_s: int, device: str, nproc: int | None):
    """The child's resource limits, applied in the child before it runs anything (see :func:`isolation.apply_limits`)."""
    return functools.partial(isolation.apply_limits, **_limits(memory_mb, cpu_s, device, nproc))


def _warm_server(iso: Isolation, device: str) -> warm_children.ForkServer | None:
    """This process's fork server, once the isolation probe has held in a child it forked for ``iso``
    on ``device`` (checked once per server); None (cold children) where it has not or cannot run."""
    server = warm_children.server(_copy_child_code, CHILD_ENV, _site_dirs())
    if server is None:
        return None
    key = (iso, device)
    if key not in server.verified:
        server.verified[key] = _probe_warm(server, iso, device)
    return server if server.verified[key] else None


def _probe_warm(server: warm_children.ForkServer, iso: Isolation, device: str, hidden: list[str] | None = None) -> bool:
    """:func:`_probe`, in a child forked from ``server``: every layer of ``iso`` set up and verified from inside
    (``hidden``: what must not be readable there; default, what the plan hides)."""
    with tempfile.TemporaryDirectory(prefix="probe-") as tmp:
        root = Path(tmp)
        bundle = _bundle(root, None, None)
        req_r, req_w = os.pipe()
        resp_r, resp_w = os.pipe()
        log = root / "probe.log"
        fd = os.open(log, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        config = {"paths": [str(bundle / "_grader"), *_site_dirs()], "isolation": _plan(root, bundle, iso, device, [])}
        env = {**CHILD_ENV, "HOME": SHOWN_ROOT + "/work" if "filesystem" in iso.layers else str(bundle / "work")}
        child = None
        try:
            child = server.fork(config, env, _limits(4096, 60, device, _outer_nproc(iso)), (req_r, resp_w, fd),
                                probe=_hidden() if hidden is None else hidden)
            child.wait(30)
            why = json.loads(log.read_bytes() or b"{}")
        except (warm_children.ForkServerError, subprocess.TimeoutExpired, ValueError, OSError):
            if child is not None and child.poll() is None:
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.killpg(child.pid, signal.SIGKILL)
            return False
        finally:
            for end in (fd, req_r, req_w, resp_r, resp_w):
                os.close(end)
    return isinstance(why, dict) and set(why) == set(iso.layers) and not any(why.values())


def _sandbox_nproc(iso: Isolation) -> int:
    """The process limit under the sandbox's own uid.

    A user namespace counts its processes and threads apart from the user's others since Linux
    5.14; before that the limit would count all of them, so it gets the process level's margin.
    """
    if iso.via != "user-namespace" or own_count_per_namespace():
        return NPROC
    return _process_level_nproc() or NPROC


def own_count_per_namespace() -> bool:
    """Whether the kernel counts RLIMIT_NPROC per user namespace (Linux 5.14 and later)."""
    return _kernel_at_least(5, 14)


def _kernel_at_least(*version: int) -> bool:
    parts = []
    for piece in os.uname().release.split(".")[:len(version)]:
        digits = "".join(itertools.takewhile(str.isdigit, piece))
        parts.append(int(digits or 0))
    return tuple(parts) >= version


def _outer_nproc(iso: Isolation) -> int | None:
    """The process limit a child starts with, before it enters its layers; None leaves the grader's.

    The user-namespace way keeps the user's own limit: the kernel makes the limit in force when
    the namespace is made the ceiling of all the user's processes and threads together, so a
    lower one would let a neighbouring sandbox's processes, or any thread pool of the user,
    stop this child's next thread. The session's own limit is counted inside its namespace.
    """
    if os.geteuid() == 0 or (iso.via == "user-namespace" and own_count_per_namespace()):
        return None
    return _process_level_nproc()


def _process_level_nproc() -> int | None:
    """Without a uid of its own the process limit counts every process and thread of the user: allow a margin."""
    if os.geteuid() == 0 or not os.path.isdir("/proc"):
        return None  # root is not held to RLIMIT_NPROC; the uid layer gives the sandbox its own
    soft, _ = resource.getrlimit(resource.RLIMIT_NPROC)
    wanted = user_threads(os.getuid()) + 4 * NPROC
    return wanted if soft == resource.RLIM_INFINITY else min(soft, wanted)


def user_threads(uid: int) -> int:
    """How many threads (RLIMIT_NPROC counts each) the processes of ``uid`` hold now."""
    count = 0
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                if os.stat(f"/proc/{entry}").st_uid == uid:
                    count += len(os.listdir(f"/proc/{entry}/task"))
            except OSError:
                pass
    return count


def platform_gap() -> str:
    """Why this platform gives no namespace layer at all ("" on Linux, where the probe decides)."""
    if not sys.platform.startswith("linux"):
        return f"this platform ({sys.platform}) has no Linux namespaces"
    return ""


@functools.lru_cache(maxsize=None)
def detect(device: str = "cpu", via: str = "auto") -> Isolation:
    """Probe, once per process, the strongest level this machine gives, each layer verified from inside.

    ``via``: ``auto`` tries root's way where the grader is root, then the user namespace way;
    ``root`` or ``user-namespace`` tries that way only (a root machine can test the laptop's).
    Where only the process level is left, it says so once, on stderr, with the reason.
    """
    if via not in ("auto", *isolation.VIAS):
        raise IsolationRefused(f"unknown way to isolate '{via}' (auto, {', '.join(isolation.VIAS)})")
    found = Isolation("process", ())
    if not platform_gap():
        for level in ("full", "namespaces"):
            for way in ways(via):
                candidate = Isolation(level, tuple(isolation.LAYERS[level]), way)
                if _probe(candidate, device):
                    return candidate
    if not _said:
        _said.append(via)
        print(f"grader: grading at the process level only: {why_not(device, via)}. A submission here runs as "
              "you, with your files and network; `grader sandbox` shows each layer and how to enable it.",
              file=sys.stderr)
    return found


_said: list[str] = []  # whether the process level was announced already (once per process)


def ways(via: str = "auto") -> list[str]:
    """The ways to the namespace layers ``via`` tries, in order."""
    if via != "auto":
        return [via]  # root's way probed by an ordinary user simply fails its probe
    return ["root", "user-namespace"] if os.geteuid() == 0 else ["user-namespace"]


def reasons(device: str = "cpu", via: str = "auto") -> dict[str, str]:
    """Each layer of the full level -> why it does not hold ("" when it does), by the way that holds the most."""
    gap = platform_gap()
    if gap:
        return {layer: gap for layer in isolation.LAYERS["full"]}
    found = [_probe_report(Isolation("full", tuple(isolation.LAYERS["full"]), way), device) for way in ways(via)]
    return min(found, key=lambda why: sum(1 for reason in why.values() if reason))


def why_not(device: str = "cpu", via: str = "auto", level: str = "full") -> str:
    """The failing layers of ``level`` and each one's reason, in one line."""
    why = reasons(device, via)
    return "; ".join(f"{layer}: {why[layer]}" for layer in isolation.LAYERS[level] if why.get(layer)) or \
        f"every layer of {level} holds"


def _probe(iso: Isolation, device: str) -> bool:
    """Whether a child given ``iso`` sets up every layer and finds each holding, from inside."""
    return not any(_probe_report(iso, device).values())


@functools.lru_cache(maxsize=None)
def _probe_report(iso: Isolation, device: str) -> dict[str, str]:
    """A cold probe child given ``iso``: each of its layers -> why it does not hold ("" when it does)."""
    with tempfile.TemporaryDirectory(prefix="probe-") as tmp:
        root = Path(tmp)
        bundle = _bundle(root, None, None)
        plan = _plan(root, bundle, iso, device, [])
        config = {"paths": [str(bundle / "_grader")], "isolation": plan, "hidden": _hidden()}
        try:
            out = subprocess.run([sys.executable, "-I", "-S", "-c", PROBE, json.dumps(config)],
                                 cwd=root, env={"PATH": "/usr/bin:/bin"}, stdin=subprocess.DEVNULL,
                                 capture_output=True, timeout=30, start_new_session=True)
            why = json.loads(out.stdout or b"{}")
            failed = out.stderr.decode(errors="replace").strip().splitlines()[-1:] or [f"exit status {out.returncode}"]
        except subprocess.TimeoutExpired:
            why, failed = {}, ["the probe did not finish within 30 s"]
        except (ValueError, OSError) as e:
            why, failed = {}, [f"the probe's answer could not be read ({e})"]
    if not isinstance(why, dict) or set(why) != set(iso.layers):
        return {layer: f"the probe child did not report: {failed[0]}" for layer in iso.layers}
    return {layer: str(why[layer]) for layer in iso.layers}


def choose(device: str, use: str = "auto", require: str | None = None, via: str = "auto") -> Isolation:
    """The isolation to grade under: the strongest available (or ``use``), never below ``require``."""
    for name in (use, require):
        if name is not None and name != "auto" and name not in isolation.LEVELS:
            raise IsolationRefused(f"unknown isolation level '{name}' ({', '.join(isolation.LEVELS)})")
    best = detect(device, via)
    rank = isolation.LEVELS.index
    if require is not None and rank(best.level) < rank(require):
        raise IsolationRefused(
            f"--require-isolation {require}: this machine gives only {best.describe()}. "
            f"Not holding: {why_not(device, via, require)}. `grader sandbox` shows how to enable each layer; "
            "grade there, or lower the requirement.")
    if use == "auto" or use == best.level:
        return best
    if rank(use) > rank(best.level):
        raise IsolationRefused(f"isolation '{use}' asked for, but this machine gives only {best.describe()}")
    if require is not None and rank(use) < rank(require):
        raise IsolationRefused(f"isolation '{use}' is below the required '{require}'")
    if use == "process":
        return Isolation("process", ())
    chosen = Isolation(use, tuple(isolation.LAYERS[use]), best.via)
    if not _probe(chosen, device):  # e.g. Python installed where only the file-system layer lets the uid read it
        why = "; ".join(f"{layer}: {r}" for layer, r in _probe_report(chosen, device).items() if r)
        raise IsolationRefused(f"isolation '{use}' does not hold on this machine ({why}; it gives {best.describe()})")
    return chosen


class Child:
    """One sandboxed child process and the thread that reads its responses."""

    def __init__(self, root: Path, bundle: Path, assignment: str, device: str, limits: Limits,
                 cpu_budget_s: int, iso: Isolation, warm: bool = False):
        req_r, self._req_w = os.pipe()
        resp_r, resp_w = os.pipe()
        self.log_path = root / f"child-{time.monotonic_ns()}.log"
        self.bundle = str(bundle)
        plan = _plan(root, bundle, iso, device, [req_r, resp_w])
        config = {"paths": [str(bundle / "_grader"), *_site_dirs()], "req_fd": req_r, "resp_fd": resp_w,
                  "assignment": assignment, "device": device, "threads": 1, "memory_mb": limits.memory_mb,
                  "isolation": plan}
        env = {**CHILD_ENV, "HOME": SHOWN_ROOT + "/work" if "filesystem" in iso.layers else str(bundle / "work")}
        nproc = _outer_nproc(iso)
        fd = os.open(self.log_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        self.proc: subprocess.Popen | warm_children.Forked | None = None
        try:
            server = _warm_server(iso, device) if warm else None
            if server is not None:
                limit = _limits(limits.memory_mb, cpu_budget_s, device, nproc)
                try:
                    self.proc = server.fork(config, env, limit, (req_r, resp_w, fd))
                except warm_children.ForkServerError:
                    warm_children.shutdown()  # a fresh server next time; this child starts cold
            if self.proc is None:
                self.proc = subprocess.Popen(
                    [sys.executable, "-I", "-S", "-c", BOOT, json.dumps(config)],
                    cwd=bundle / "work", env=env, stdin=subprocess.DEVNULL, stdout=fd, stderr=fd,
                    pass_fds=(req_r, resp_w), start_new_session=True, close_fds=True,
                    preexec_fn=_limit(limits.memory_mb, cpu_budget_s, device, nproc))
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
                    self._responses.put(wire.read_message(stream, MAX_RESPONSE_BYTES))
                except EOFError:
                    self._responses.put(EOFError())
                    return
                except wire.WireError as e:
                    self._responses.put(e)
                    return
                except Exception as e:  # e.g. a header nested deep enough to exhaust the recursion limit
                    self._responses.put(wire.WireError(f"unreadable message: {type(e).__name__}"))
                    return

    def send(self, request: Request, token: str, deadline: float) -> bool:
        """Write one request without ever blocking past ``deadline`` (a child may stop reading)."""
        return self.send_message({"task": request.task, "case": request.case, "inputs": request.inputs,
                                  "own_gradient": request.own_gradient, "banned": list(request.banned),
                                  "token": token}, deadline)

    def send_message(self, message: dict, deadline: float) -> bool:
        view = memoryview(wire.encode(message))
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
            with open(self.log_path, "rb") as f:
                f.seek(max(0, os.path.getsize(self.log_path) - OUTPUT_TAIL))
                data = f.read(OUTPUT_TAIL)
        except OSError:
            return ""
        return _shown(data.decode("utf-8", "replace"), self.bundle)

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


def _shown(text: str, bundle: str) -> str:
    """Paths as the student knows them: ``a02_mlp_backprop/layers.py``, not where the sandbox put it."""
    for root in (bundle, SHOWN_ROOT):
        text = text.replace(root + "/submission/", "")
    return text.replace(bundle, SHOWN_ROOT)


class SandboxRunner:
    """The :class:`grader.sandbox.runner.Runner` for students' code: sandboxed children, one task at a time.

    What a submission does wrong costs it, not the grader: each module is imported once under
    its own budget before a task uses it, so a module that hangs or crashes at import costs one
    limit and the tasks that need it fail at once; a task that calls a task that already timed
    out or crashed fails at once; a patched library is put back in place rather than paid for
    with a fresh process; and a ``budget`` bounds the whole assignment.
    A task's first failing case ends the task (the rest would not change its score). A reply
    that comes twice for one token (a forked process or a forged message) fails the task it
    claims to answer; the request that met it is sent again to a fresh process.
    """

    def __init__(self, device: str = "cpu", iso: Isolation | None = None, warm: bool = True):
        self.device = device
        self.iso = iso if iso is not None else detect(device)
        self.warm = warm  # children forked from this process's fork server (see grader.sandbox.warm)

    def run(self, submission: Path, assignment: str, requests: list[Request],
            limits: dict[str, Limits], budget: Budget | None = None) -> dict[Key, Response]:
        by_task: dict[str, list[Request]] = {}
        for r in requests:
            by_task.setdefault(r.task, []).append(r)
        with tempfile.TemporaryDirectory(prefix="grade-") as tmp:
            session = _Session(Path(tmp), submission, assignment, self.device, self.iso, limits, by_task, budget,
                               self.warm)
            try:
                for reqs in by_task.values():
                    session.run_task(reqs)
            finally:
                session.close()
        return session.results


class _Session:
    """One assignment's requests in sandboxed children: a fresh child whenever the last one is gone."""

    def __init__(self, root: Path, submission: Path, assignment: str, device: str, iso: Isolation,
                 limits: dict[str, Limits], by_task: dict[str, list[Request]], budget: Budget | None,
                 warm: bool = False):
        self.root, self.assignment, self.device, self.iso, self.warm = root, assignment, device, iso, warm
        self.limits, self.by_task, self.budget = limits, by_task, budget
        self.memory = max((limits[t].memory_mb for t in by_task), default=0)
        self.cpu_budget = int(sum(limits[t].time_s for t in by_task)) + 60
        self.bundle = _bundle(root, assignment, submission)
        self.child: Child | None = None
        self.spare: Child | None = None         # started beside a slow request, used by the next start
        self.answered: dict[str, Request] = {}  # tokens the current child has answered
        self.results: dict[Key, Response] = {}
        self.lost: dict[str, str] = {}          # task -> why it never finished (timed out, crashed, blocked)
        self.modules: dict[str, tuple[RunStatus, str, str] | None] = {}  # None: imports; else why not, detail
        self.imports: dict[str, list[str]] = {}  # module -> the submission's modules it needs, those first
        self.restart_after_task = ""            # the child must go before the next task, and why
        self.start_failure = ""                 # what the last child that did not start printed

    def run_task(self, reqs: list[Request]) -> None:
        """Every case of one task, each under the task's one wall-clock budget."""
        first = reqs[0]
        limit = self.limits[first.task].time_s
        stop = self._out_of_budget(first) or self._module_problem(first, limit) or self._blocked(first)
        if stop is not None:
            self._fill(reqs, stop)
            self._note_lost(stop)
            return
        deadline: float | None = None
        k, retried = 0, False
        while k < len(reqs):
            req = reqs[k]
            if self.child is None:
                started = time.monotonic()
                if not self._start():
                    self._fill(reqs[k:], self._not_started(req))
                    return
                if deadline is not None:  # a fresh process mid-task: its start is not the task's time
                    deadline += time.monotonic() - started
            if deadline is None:
                deadline = time.monotonic() + limit
            token = secrets.token_hex(16)
            asked = time.monotonic()
            reply = self._ask(req, token, self._until(deadline))
            took = time.monotonic() - asked
            if isinstance(reply, dict) and reply.get("token") == token and \
                    reply.get("task") == req.task and reply.get("case") == req.case:
                response = self._accept(req, reply, token)
                response.time_s = took
                if response.status != RunStatus.OK:
                    self._fill(reqs[k + 1:], response)
                    break
                k += 1
                continue
            if isinstance(reply, dict) and reply.get("token") in self.answered and not retried:
                self._answered_twice(self.answered[reply["token"]])
                self._drop_child()
                retried = True
                continue  # the same request again, in a fresh process
            self._lose(reqs[k:], reply, limit, deadline)
            self.results[(req.task, req.case)].time_s = took
            break
        if self.restart_after_task:
            self._retire()

    def _until(self, deadline: float) -> float:
        """The task's deadline, or the budget's where that comes first."""
        return min(deadline, self.budget.deadline) if self.budget is not None else deadline

    def _out_of_budget(self, req: Request) -> Response | None:
        if self.budget is not None and time.monotonic() >= self.budget.deadline:
            why = f"{self.budget.describe()} ran out before this task"
            return Response(req.task, req.case, RunStatus.OUT_OF_BUDGET, before_run=True, reason=why,
                            message=f"not run: {why}")
        return None

    def _blocked(self, req: Request) -> Response | None:
        """Not run at all: a task it calls already timed out, crashed or could not be run."""
        for called in req.calls:
            if called in self.lost:
                why = f"it calls {called}, which {self.lost[called]}"
                return Response(req.task, req.case, RunStatus.BLOCKED, before_run=True, blocked_by=called,
                                reason=why, message=f"not run: {why}")
        return None

    def _note_lost(self, response: Response) -> None:
        """Remember a task that never finished, so the tasks that call it are not run to find out again."""
        if response.before_run:
            self.lost[response.task] = "was not run: " + (response.reason or response.message)
            return
        why = {RunStatus.TIMEOUT: f"did not finish within its {self.limits[response.task].time_s:g} s limit",
               RunStatus.CRASHED: "made the sandboxed process exit"}.get(response.status)
        if why is not None:
            self.lost[response.task] = why

    def _module_problem(self, req: Request, limit: float) -> Response | None:
        """Import the task's module and what it imports from the submission, each once under its own
        budget; a module that hung, crashed or left something running stops every task that needs it."""
        if not req.module:
            return None
        if req.module not in self.imports:
            self.imports[req.module] = _local_imports(self.bundle / "submission" / self.assignment, req.module)
        for module in self.imports[req.module]:
            if module not in self.modules:
                if self.child is None and not self._start():
                    return self._not_started(req)
                self.modules[module] = self._import(module, limit)
            problem = self.modules[module]
            if problem is not None:
                status, phrase, detail = problem
                who = f"{req.module}.py" if module == req.module else f"{req.module}.py imports {module}.py, which"
                return Response(req.task, req.case, status, message=f"{who} {phrase}", stdout=detail,
                                before_run=True, reason=f"{who} {phrase}")
        return None

    def _import(self, module: str, limit: float) -> tuple[RunStatus, str, str] | None:
        """Import ``module`` in the running child: None if it imports cleanly, else (status, why, detail)."""
        assert self.child is not None
        token = secrets.token_hex(16)
        started = time.monotonic()
        deadline = self._until(started + limit)
        ok = self.child.send_message({"import": module, "token": token}, deadline)
        reply: Any = self._wait(deadline) if ok else \
            (TimeoutError() if self.child.proc.poll() is None else EOFError())
        if isinstance(reply, dict) and reply.get("token") == token and reply.get("import") == module:
            if reply.get("restart"):
                self._retire()
            if reply.get("status") == "error":  # it raised (a syntax error, a missing package) or left something
                shown = _shown(str(reply.get("message", "")), str(self.bundle))[:1000]
                return RunStatus.ERROR, f"could not be imported: {shown}", \
                    _shown(str(reply.get("traceback", "")), str(self.bundle))[-OUTPUT_TAIL:]
            return None
        tail = self.child.output_tail()
        self._drop_child()
        if isinstance(reply, TimeoutError):
            if self.budget is not None and time.monotonic() >= self.budget.deadline and \
                    time.monotonic() - started < limit:
                return RunStatus.OUT_OF_BUDGET, f"was still importing when {self.budget.describe()} ran out", tail
            return RunStatus.TIMEOUT, f"did not finish importing within {limit:g} s", tail
        if isinstance(reply, EOFError):
            return RunStatus.CRASHED, "made the sandboxed process exit while it was imported", tail
        return RunStatus.ERROR, "was being imported when the sandboxed process answered out of turn", tail

    def _new_child(self, warm: bool | None = None) -> Child:
        limit = max((lim.time_s for lim in self.limits.values()), default=60.0)
        return Child(self.root, self.bundle, self.assignment, self.device, Limits(limit, self.memory),
                     self.cpu_budget, self.iso, self.warm if warm is None else warm)

    def _start(self) -> bool:
        """A fresh child, ready to take requests: the spare if one was started, else a new one. A forked
        child that does not start (the machine briefly out of processes while a killed tree is torn
        down) is followed by one cold child before the task is given up."""
        self.restart_after_task = ""
        self.child, self.spare = (self.spare or self._new_child()), None
        self.answered = {}
        ready = self.child.receive(STARTUP_TIMEOUT_S)
        if not (isinstance(ready, dict) and ready.get("ready")) and isinstance(self.child.proc, warm_children.Forked):
            self._drop_child()
            self.child = self._new_child(warm=False)
            ready = self.child.receive(STARTUP_TIMEOUT_S)
        if isinstance(ready, dict) and ready.get("ready"):
            return True
        self.start_failure = self.child.output_tail()
        self._drop_child()
        return False

    def _not_started(self, req: Request) -> Response:
        return Response(req.task, req.case, RunStatus.CRASHED, stdout=self.start_failure,
                        message="the sandboxed process did not start")

    def _ask(self, req: Request, token: str, deadline: float) -> Any:
        assert self.child is not None
        if not self.child.send(req, token, deadline):
            return TimeoutError() if self.child.proc.poll() is None else EOFError()
        return self._wait(deadline)

    def _wait(self, deadline: float) -> Any:
        """The child's answer by ``deadline``. One that is slow in coming may never come (a loop, a hang),
        and its process would then be replaced: a spare starts beside it, so the replacement costs
        no start-up on top of the limit."""
        assert self.child is not None
        soon = min(deadline, time.monotonic() + SPARE_AFTER_S)
        reply = self.child.receive(soon - time.monotonic())
        if isinstance(reply, TimeoutError) and time.monotonic() < deadline:
            if self.spare is None:
                self.spare = self._new_child()
            reply = self.child.receive(deadline - time.monotonic())
        return reply

    def _accept(self, req: Request, reply: dict, token: str) -> Response:
        """Record a proper answer. A task that left something running ends here, and so does its
        process; one whose library patch could not be put back keeps its process to the task's end."""
        response = _response(req, reply, str(self.bundle))
        self.results[(req.task, req.case)] = response
        self.answered[token] = req
        if reply.get("restart"):
            if response.status != RunStatus.OK:
                self._retire()
                left = reply.get("left")
                if isinstance(left, list) and left and all(isinstance(x, str) for x in left):
                    self.lost[req.task] = f"left {' and '.join(left)} running after it returned"
            else:
                self.restart_after_task = str(reply.get("restart_reason") or "it changed the process")
                why = f"a fresh process was started after this task: {self.restart_after_task}"
                response.note = f"{response.note}; {why}" if response.note else why
        return self.results[(req.task, req.case)]

    def _lose(self, rest: list[Request], reply: Any, limit: float, deadline: float) -> None:
        """The child hung, died or spoke out of turn: this task is lost, the rest carry on."""
        assert self.child is not None
        tail = self.child.output_tail()
        self._drop_child()
        status, message = _failure(reply, limit)
        if status == RunStatus.TIMEOUT and self.budget is not None and self._until(deadline) < deadline:
            status, message = RunStatus.OUT_OF_BUDGET, f"{self.budget.describe()} ran out during this task"
        response = Response(rest[0].task, rest[0].case, status, message=message, stdout=tail)
        self._fill(rest, response)
        self._note_lost(response)

    def _retire(self) -> None:
        """Close the child's requests and let it exit; an answer that still comes is a second one."""
        child, self.child = self.child, None
        self.restart_after_task = ""
        if child is None:
            return
        child.close_requests()
        extra = child.receive(RETIRE_TIMEOUT_S)
        child.kill()
        if isinstance(extra, dict) and extra.get("token") in self.answered:
            self._answered_twice(self.answered[extra["token"]])

    def _drop_child(self) -> None:
        self.restart_after_task = ""
        if self.child is not None:
            self.child.kill()
            self.child = None

    def _answered_twice(self, req: Request) -> None:
        self._fill([r for r in self.by_task[req.task] if r.case >= req.case], Response(
            req.task, req.case, RunStatus.ERROR,
            message="the task answered twice (a forked process or a forged message); only the grader's own "
                    "driver may answer"))

    def _fill(self, reqs: list[Request], first: Response) -> None:
        """The same verdict for each of ``reqs`` (the remaining cases of a task that already failed)."""
        for r in reqs:
            self.results[(r.task, r.case)] = first.same_for(r)

    def close(self) -> None:
        self._retire()
        if self.spare is not None:
            self.spare.kill()
            self.spare = None


def _local_imports(folder: Path, module: str) -> list[str]:
    """``module`` and the assignment's modules it imports, directly or not, those first (read, not run):
    the scan's own answer (:func:`grader.sandbox.resolve.local_imports`)."""
    from grader.sandbox import resolve, scan
    return resolve.local_imports(folder, module, scan.parse_or_none)


def _failure(reply: Any, time_s: float) -> tuple[RunStatus, str]:
    if isinstance(reply, TimeoutError):
        return RunStatus.TIMEOUT, f"the task did not finish within its {time_s:g} s limit"
    if isinstance(reply, wire.WireError):
        return RunStatus.ERROR, f"the sandboxed process sent a malformed answer ({reply})"
    if isinstance(reply, dict):
        return RunStatus.ERROR, "the sandboxed process answered out of turn (or without the request's token)"
    return RunStatus.CRASHED, ("the sandboxed process exited during this task (sys.exit, os._exit, a crash or a "
                               "resource limit)")


def _response(req: Request, reply: dict, bundle: str) -> Response:
    status = reply.get("status")
    if status not in ("ok", "not_implemented", "error", "banned"):
        return Response(req.task, req.case, RunStatus.ERROR, message=f"unknown status {status!r}")
    outputs = reply.get("outputs") if isinstance(reply.get("outputs"), dict) else {}
    own = reply.get("own_gradient") if isinstance(reply.get("own_gradient"), dict) else {}
    sig = reply.get("signature")
    patched = reply.get("patched") if isinstance(reply.get("patched"), list) else []
    note = (f"it replaced {', '.join(str(x) for x in patched)}; the grader put "
            f"{'it' if len(patched) == 1 else 'them'} back (answers are compared outside the sandbox)"
            if patched else "")
    return Response(req.task, req.case, RunStatus(status), outputs=outputs, own_gradient=own,
                    message=_shown(str(reply.get("message", "")), bundle)[:1000],
                    traceback=_shown(str(reply.get("traceback", "")), bundle)[-OUTPUT_TAIL:],
                    stdout=_shown(str(reply.get("stdout", "")), bundle)[-OUTPUT_TAIL:],
                    signature=[str(s) for s in sig] if isinstance(sig, list) else None, note=note[:500])
