"""Isolation layers of the sandboxed child: network and PID namespaces, an unprivileged uid, a private file system.

The grader probes once which layers this machine allows (:func:`probe`) and names the
level in every result. The child applies them first thing (:func:`enter`), before it
imports torch or the submission; a layer that was asked for and fails stops the child,
so a run is never weaker than reported. Stdlib only: this file is copied into the sandbox.

Levels, weakest first:
  process     own session, clean environment, ``python -I -S``, resource limits, timeout (always);
  namespaces  + no network (a new network namespace), its own PID (and SysV IPC) namespace,
              a uid of its own with no supplementary groups;
  full        + a file system of its own: the Python installation and the bundle, read-only,
              and small private /tmp and work directories. The reference, course.yaml,
              hidden-suite data and the results destination are simply not there.
"""
from __future__ import annotations

import ctypes
import os
import platform
import resource
import select
import signal
import socket
import sys

LEVELS = ("process", "namespaces", "full")
LAYERS = {"process": (), "namespaces": ("network", "pid", "uid"),
          "full": ("network", "pid", "uid", "filesystem")}
SANDBOX = "/sandbox"  # where the bundle appears inside the private file system

CLONE_NEWNS, CLONE_NEWIPC, CLONE_NEWPID, CLONE_NEWNET = 0x00020000, 0x08000000, 0x20000000, 0x40000000
MS_RDONLY, MS_NOSUID, MS_NODEV, MS_NOEXEC = 1, 2, 4, 8
MS_REMOUNT, MS_BIND, MS_REC, MS_PRIVATE = 32, 4096, 16384, 1 << 18
MNT_DETACH = 2
PR_SET_PDEATHSIG, PR_SET_CHILD_SUBREAPER, PR_SET_NO_NEW_PRIVS = 1, 36, 38
SYS_PIVOT_ROOT = {"x86_64": 155, "aarch64": 41}

_libc = ctypes.CDLL(None, use_errno=True)


class IsolationError(OSError):
    """A layer that was asked for could not be set up."""


def level_of(layers: list[str] | tuple[str, ...]) -> str:
    """The strongest level whose layers are all in ``layers``."""
    return [lvl for lvl in LEVELS if set(LAYERS[lvl]) <= set(layers)][-1]


def _check(result: int, what: str) -> None:
    if result != 0:
        err = ctypes.get_errno()
        raise IsolationError(err, f"{what}: {os.strerror(err)}")


def _mount(source: str | None, target: str, fstype: str | None, flags: int, data: str | None = None) -> None:
    enc = (lambda s: s.encode() if s is not None else None)
    _check(_libc.mount(enc(source), enc(target), enc(fstype), ctypes.c_ulong(flags), enc(data)),
           f"mount {target}")


def _prctl(option: int, value: int) -> None:
    _check(_libc.prctl(option, ctypes.c_ulong(value), 0, 0, 0), f"prctl {option}")


def _bind(path: str, root: str, readonly: bool = True, recursive: bool = True) -> None:
    """Make ``path`` appear at the same place under ``root``; symlinks are copied as symlinks."""
    target = root + path
    os.makedirs(os.path.dirname(target), mode=0o755, exist_ok=True)
    if os.path.islink(path):
        if not os.path.lexists(target):
            os.symlink(os.readlink(path), target)
        return
    if not os.path.exists(path):
        return
    if os.path.isdir(path):
        os.makedirs(target, mode=0o755, exist_ok=True)
    elif not os.path.exists(target):
        open(target, "w").close()
    _mount(path, target, None, MS_BIND | (MS_REC if recursive else 0))
    extra = MS_RDONLY | MS_NODEV if readonly else 0
    _mount(None, target, None, MS_BIND | MS_REMOUNT | MS_NOSUID | extra)


def _private_root(plan: dict) -> None:
    """Build a root holding only what the child needs, then pivot into it and drop the old one."""
    new = plan["root_dir"]
    _mount(None, "/", None, MS_REC | MS_PRIVATE)  # nothing we mount leaks back to the host
    _mount("tmpfs", new, "tmpfs", MS_NOSUID | MS_NODEV, "size=1m,mode=0755")
    os.makedirs(new + "/dev", mode=0o755)
    _mount("tmpfs", new + "/dev", "tmpfs", MS_NOSUID | MS_NOEXEC, "size=64k,mode=0755")
    for dev in plan["devices"]:
        _bind(dev, new, readonly=False, recursive=False)
    os.makedirs(new + "/proc", mode=0o555)
    if "pid" in plan["layers"]:  # a /proc that shows only the sandbox's own processes
        _mount("proc", new + "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC)
    os.makedirs(new + "/tmp")  # first: a bound folder may live under /tmp
    _mount("tmpfs", new + "/tmp", "tmpfs", MS_NOSUID | MS_NODEV, f"size={plan['tmp_mb']}m,mode=1777")
    for path in plan["binds"]:
        _bind(path, new)
    open(new + "/.empty", "w").close()
    for path in plan["hide"]:  # e.g. an installed copy of the reference inside a bound site-packages
        target = new + path
        if os.path.isdir(target) and not os.path.islink(target):
            _mount("tmpfs", target, "tmpfs", MS_RDONLY | MS_NOSUID | MS_NODEV, "size=4k,mode=0555")
        elif os.path.isfile(target) and not os.path.islink(target):
            _mount(new + "/.empty", target, None, MS_BIND)
            _mount(None, target, None, MS_BIND | MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV)
    os.makedirs(new + SANDBOX, mode=0o755, exist_ok=True)
    _mount(plan["bundle"], new + SANDBOX, None, MS_BIND | MS_REC)
    _mount(None, new + SANDBOX, None, MS_BIND | MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV)
    uid = plan["uid"] if "uid" in plan["layers"] else os.getuid()
    _mount("tmpfs", new + SANDBOX + "/work", "tmpfs", MS_NOSUID | MS_NODEV,
           f"size={plan['work_mb']}m,mode=0700,uid={uid},gid={uid}")
    os.chdir(new)
    number = SYS_PIVOT_ROOT.get(platform.machine())
    if number is None:
        raise IsolationError(0, f"pivot_root: unknown architecture {platform.machine()}")
    _check(_libc.syscall(number, b".", b"."), "pivot_root")  # the old root now sits on top of the new
    _check(_libc.umount2(b".", MNT_DETACH), "umount the old root")
    os.chdir("/")
    _mount(None, "/", None, MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV, "size=1m,mode=0755")


def _fork_into_pid_namespace(keep: list[int]) -> int:
    """Fork the first process of the new PID namespace; the caller stays behind and waits.

    Returns, in the new process, a pipe end that reads EOF once the process left behind is gone.
    """
    alive_r, alive_w = os.pipe()
    pid = os.fork()
    if pid:
        os.close(alive_r)
        for fd in keep:
            os.close(fd)  # only the worker holds the grader's pipes, so its death reads as EOF
        while True:
            try:
                _, status = os.waitpid(pid, 0)
                break
            except InterruptedError:
                continue
        code = os.waitstatus_to_exitcode(status)
        os._exit(code if code >= 0 else 128 - code)
    os.close(alive_w)
    return alive_r


def _drop_privileges(uid: int) -> None:
    os.setgroups([])
    os.setresgid(uid, uid, uid)
    os.setresuid(uid, uid, uid)


def enter(plan: dict) -> str:
    """Apply ``plan["layers"]`` to this process; returns where the bundle is now visible.

    ``plan``: layers, uid, bundle (its real path), root_dir (an empty directory for the new
    root), binds (read-only paths), hide (paths inside binds to show empty), python (the
    directories Python imports from), devices,
    tmp_mb, work_mb, keep_fds (the grader's pipes), nproc (process limit under the sandbox's own uid).
    """
    layers = set(plan["layers"])
    if not sys.platform.startswith("linux"):
        os.chdir(plan["bundle"] + "/work")
        return plan["bundle"]  # the process level only; the grader probes nothing more here
    _prctl(PR_SET_CHILD_SUBREAPER, 1)  # orphans of the submission stay ours to find and kill
    flags = (CLONE_NEWNET if "network" in layers else 0) | \
        (CLONE_NEWPID | CLONE_NEWIPC if "pid" in layers else 0) | \
        (CLONE_NEWNS if "filesystem" in layers else 0)  # with its processes, the host's SysV IPC goes too
    if flags:
        _check(_libc.unshare(flags), "unshare")
    alive = _fork_into_pid_namespace(plan["keep_fds"]) if "pid" in layers else None
    if "pid" in layers:
        _prctl(PR_SET_CHILD_SUBREAPER, 1)
    if "filesystem" in layers:
        _private_root(plan)
    bundle = SANDBOX if "filesystem" in layers else plan["bundle"]
    if "uid" in layers:
        resource.setrlimit(resource.RLIMIT_NPROC, (plan["nproc"], plan["nproc"]))
        _drop_privileges(plan["uid"])
    _prctl(PR_SET_NO_NEW_PRIVS, 1)
    if alive is not None:
        _prctl(PR_SET_PDEATHSIG, signal.SIGKILL)  # set after the uid change, which clears it
        if select.select([alive], [], [], 0)[0]:
            os._exit(137)  # the process left behind was killed before we could follow it
    os.chdir(bundle + "/work")
    return bundle


def verify(plan: dict, hidden: list[str]) -> list[str]:
    """Which layers hold, seen from inside: used by :func:`probe` after :func:`enter`."""
    held = []
    if "network" in plan["layers"]:
        names = [name for _, name in socket.if_nameindex()]
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.settimeout(0.5)
        try:
            s.connect(("1.1.1.1", 53))
        except OSError:
            if set(names) <= {"lo"}:
                held.append("network")
        finally:
            s.close()
    if "pid" in plan["layers"] and os.getpid() == 1:
        held.append("pid")
    readable = all(os.access(p, os.R_OK | os.X_OK) for p in plan["python"])  # it must still run Python
    if "uid" in plan["layers"] and os.getuid() == plan["uid"] and os.getgroups() == [] and readable:
        held.append("uid")
    if "filesystem" in plan["layers"] and not any(_shows(p) for p in hidden):
        held.append("filesystem")
    if plan.get("device") == "cuda" and not _cuda_works():
        return []  # these layers would cost the GPU: the grader falls back to a weaker level, and says so
    return held


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


def remap_modules(old: str, new: str) -> None:
    """After the pivot, point already imported bundle modules and sys.path at the new place."""
    if old == new:
        return
    sys.path[:] = [new + p[len(old):] if p.startswith(old) else p for p in sys.path]
    for mod in list(sys.modules.values()):
        path = getattr(mod, "__path__", None)
        if isinstance(path, list):
            mod.__path__ = [new + p[len(old):] if p.startswith(old) else p for p in path]
    sys.path_importer_cache.clear()


def probe(plan: dict, hidden: list[str]) -> None:
    """Entry point of the probe child: try the plan, print the layers that hold."""
    import json
    try:
        old = plan["bundle"]
        remap_modules(old, enter(plan))
        held = verify(plan, hidden)
    except Exception:
        held = []
    sys.stdout.write(json.dumps(held))
    sys.stdout.flush()
