"""The isolation probe's checks, made from inside the sandbox: for each layer, whether it holds and, if not, why.

Stdlib only: this file is copied into the sandbox. :func:`verify` runs after
:func:`grader.sandbox.inside.isolation.enter`, in a cold probe child (:func:`probe`) or in a
child forked from the warm server; the grader serves a level only when every layer of it holds.
"""
from __future__ import annotations

import ctypes
import json
import os
import socket
import sys
import threading  # here, before the layers: without the file-system layer the stdlib may be out of the uid's reach

from grader.sandbox.inside import isolation


def verify(plan: dict, hidden: list[str]) -> dict[str, str]:
    """Layer -> why it does not hold ("" when it does), for each layer of ``plan["layers"]``."""
    why: dict[str, str] = {}
    layers = plan["layers"]
    if "network" in layers:
        why["network"] = _network()
    if "pid" in layers:
        why["pid"] = f"the sandbox's first process is pid {os.getpid()}, not 1" if os.getpid() != 1 else _processes()
    if "uid" in layers:
        unreadable = [p for p in plan["python"] if not os.access(p, os.R_OK | os.X_OK)]
        why["uid"] = f"the sandbox's uid may not read the Python installation ({unreadable[0]})" if unreadable \
            else _uid(plan)
    if "filesystem" in layers:
        shown = [p for p in hidden if _shows(p)]
        why["filesystem"] = f"{shown[0]} is readable inside" if shown else ""
    if "filesystem" in layers and isolation.code_shared(plan):
        # one copy for all of a grading process's sessions: no session may change what the next one runs
        written = _writable(isolation.CODE)
        if written and not why["filesystem"]:
            why["filesystem"] = f"the grader's code, shared between sessions, is writable inside ({written})"
    if plan.get("device") == "cuda" and not _cuda_works():
        # these layers would cost the GPU: the grader falls back to a weaker level, and says so
        return {layer: "the CUDA driver finds no GPU inside these layers" for layer in layers}
    return why


def _processes() -> str:
    """Whether a thread starts and a process does not (the filter :func:`isolation.forbid_new_processes`)."""
    ran: list[bool] = []
    thread = threading.Thread(target=ran.append, args=(True,))
    try:
        thread.start()
        thread.join(10)
    except RuntimeError as e:
        return f"a thread did not start ({e})"
    if not ran:
        return "a thread did not run"
    try:
        pid = os.fork()
    except PermissionError:
        return ""
    except OSError as e:
        return f"starting a process failed with {e.strerror}, not as forbidden"
    if pid == 0:
        os._exit(0)
    os.waitpid(pid, 0)
    return "a process could be started"


def _network() -> str:
    names = [name for _, name in socket.if_nameindex()]
    if not set(names) <= {"lo"}:
        return f"network interfaces other than loopback are present ({', '.join(n for n in names if n != 'lo')})"
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.settimeout(0.5)
    try:
        s.connect(("1.1.1.1", 53))
        return "a connection out of the sandbox succeeded"
    except OSError:
        return ""
    finally:
        s.close()


def expected_groups(plan: dict) -> list[int]:
    """The supplementary groups the child must show, seen from inside, sorted.

    Root's way clears them. In a user namespace an ordinary user makes, the kernel keeps the
    user's groups (``setgroups`` is denied there) and shows each through the namespace's gid
    map: the user's own gid, the one mapped, as :data:`isolation.INNER_ID`, every other group as
    the overflow gid. Anything else (a group mapped in, a group the creator did not have) fails.
    """
    if plan.get("via") != "user-namespace":
        return []
    overflow = _overflow_gid()
    outer_gid = plan.get("outer_gid")
    return sorted(isolation.INNER_ID if g == outer_gid else overflow for g in plan.get("outer_groups", []))


def _uid(plan: dict) -> str:
    """Whether this process runs as the sandbox's own uid and gid, with no capabilities and the groups expected."""
    want = isolation.INNER_ID if plan.get("via") == "user-namespace" else plan["uid"]
    ids = {os.getuid(), os.geteuid(), os.getgid(), os.getegid()}
    if ids != {want}:
        return f"runs as uid/gid {sorted(ids)}, not the sandbox's own {want}"
    caps = isolation.capabilities()
    if caps:
        return f"holds capabilities (mask {caps:#x})"
    groups, expected = sorted(os.getgroups()), expected_groups(plan)
    if groups != expected:
        return f"supplementary groups {groups}, expected {expected} (the grader's own, as the namespace shows them)"
    return ""


def _overflow_gid() -> int:
    try:
        with open("/proc/sys/kernel/overflowgid") as f:
            return int(f.read())
    except (OSError, ValueError):
        return 65534


def _writable(folder: str) -> str:
    """The first folder or file under ``folder`` this process may write to or whose mode it may change ("": none)."""
    me = os.geteuid()
    for where, _, files in os.walk(folder):
        for path in [where, *(os.path.join(where, f) for f in files)]:
            if os.access(path, os.W_OK) or os.stat(path).st_uid == me and not _read_only_mount(path):
                return path
    return ""


def _read_only_mount(path: str) -> bool:
    return bool(os.statvfs(path).f_flag & os.ST_RDONLY)


def _shows(path: str) -> bool:
    """Whether anything of ``path`` can be read (an empty folder or file hides it)."""
    try:
        if os.path.isdir(path):
            return bool(os.listdir(path))
        return os.path.exists(path) and os.path.getsize(path) > 0
    except OSError:
        return False


def _cuda_works() -> bool:
    """Whether the CUDA driver starts and sees a GPU from inside the sandbox (without importing torch)."""
    try:
        cuda = ctypes.CDLL("libcuda.so.1")
        count = ctypes.c_int(0)
        return cuda.cuInit(0) == 0 and cuda.cuDeviceGetCount(ctypes.byref(count)) == 0 and count.value > 0
    except OSError:
        return False


def report(plan: dict, hidden: list[str]) -> dict[str, str]:
    """Set the plan's layers up in this process and check each: layer -> why not ("" when it holds).
    A layer that cannot even be set up fails with the reason the set-up gave."""
    try:
        isolation.remap_into(plan, isolation.enter(plan))
        return verify(plan, hidden)
    except Exception as e:  # noqa: BLE001  (any failure is a reason, reported for every layer asked for)
        return {layer: f"setting the layers up failed: {e}" for layer in plan["layers"]}


def probe(plan: dict, hidden: list[str]) -> None:
    """Entry point of the probe child: print :func:`report` as JSON."""
    sys.stdout.write(json.dumps(report(plan, hidden)))
    sys.stdout.flush()
