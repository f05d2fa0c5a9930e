"""Isolation layers of the sandboxed child: network and PID namespaces, an unprivileged uid, a private file system.

The grader probes once which layers this machine allows (:mod:`grader.sandbox.inside.verify`) and names the
level in every result. The child applies them first thing (:func:`enter`), before it
imports torch or the submission; a layer that was asked for and fails stops the child,
so a run is never weaker than reported. Stdlib only: this file is copied into the sandbox.

Two ways to the same layers (``plan["via"]``):
  root            a grader running as root makes the namespaces and drops the child to a
                  uid of its own (no supplementary groups, no capabilities);
  user-namespace  an ordinary user (a laptop) makes a user namespace first, which lets it
                  make the others and mount the private file system; the child then runs
                  as a uid of that namespace with every capability dropped. Its process
                  limit is counted inside its own namespace (Linux 5.14 and later), apart
                  from every other sandbox of the same user; the user's own limit, which
                  the kernel also applies to all of that user's processes and threads, is
                  left as it is, so a neighbour's processes never use up a session's
                  share. Outside, its processes still belong to the
                  user who started the grader, and the kernel keeps that user's
                  supplementary groups (it forbids ``setgroups`` here); with the file-system
                  layer, all they reach is the system's and Python's files, read-only.
                  Root may take this way too (to try it): the child is then the sandbox's
                  own uid outside, as on root's way.

Levels, weakest first:
  process     own session, clean environment, ``python -I -S``, resource limits, timeout (always);
  namespaces  + no network (a new network namespace), its own PID (and SysV IPC) namespace,
              a uid of its own without capabilities (and, root's way, without groups);
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
import sys

LEVELS = ("process", "namespaces", "full")
VIAS = ("root", "user-namespace")
INNER_ID = 1000  # the child's uid and gid inside its user namespace
LAYERS = {"process": (), "namespaces": ("network", "pid", "uid"),
          "full": ("network", "pid", "uid", "filesystem")}
SANDBOX = "/sandbox"  # where the bundle appears inside the private file system
CODE = SANDBOX + "/_grader"  # and the grader's child-side code, whether the bundle's own or shared

CLONE_NEWNS, CLONE_NEWIPC, CLONE_NEWPID, CLONE_NEWNET = 0x00020000, 0x08000000, 0x20000000, 0x40000000
CLONE_NEWUSER = 0x10000000
MS_RDONLY, MS_NOSUID, MS_NODEV, MS_NOEXEC = 1, 2, 4, 8
MS_REMOUNT, MS_BIND, MS_REC, MS_PRIVATE = 32, 4096, 16384, 1 << 18
MS_NOATIME, MS_NODIRATIME, MS_RELATIME = 1024, 2048, 1 << 21
ST_RELATIME = 4096  # statvfs's name for a relatime mount
MNT_DETACH = 2
PR_SET_PDEATHSIG, PR_SET_CHILD_SUBREAPER, PR_SET_NO_NEW_PRIVS = 1, 36, 38
PR_CAPBSET_DROP, PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL = 24, 47, 4
SYS_PIVOT_ROOT = {"x86_64": 155, "aarch64": 41}
SYS_CAPGET = {"x86_64": 125, "aarch64": 90}
SYS_CAPSET = {"x86_64": 126, "aarch64": 91}
CAP_VERSION_3 = 0x20080522

_libc = ctypes.CDLL(None, use_errno=True)
processes_forbidden = False  # set once :func:`forbid_new_processes` holds in this process


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
    _mount(None, target, None, MS_BIND | MS_REMOUNT | MS_NOSUID | extra | _kept_flags(target))


def _bind_readonly(source: str, target: str) -> None:
    """Show the folder ``source`` at ``target`` (an existing folder), read-only."""
    _mount(source, target, None, MS_BIND | MS_REC)
    _mount(None, target, None, MS_BIND | MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV | _kept_flags(target))


def _kept_flags(target: str) -> int:
    """The flags a bind must keep when remounted: in a user namespace the kernel locks them."""
    f = os.statvfs(target).f_flag
    kept = f & (MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC | MS_NOATIME | MS_NODIRATIME)
    return kept | (MS_RELATIME if f & ST_RELATIME else 0)


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
        try:
            _mount("proc", new + "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC)
        except IsolationError:
            if plan.get("via") != "user-namespace":
                raise  # a user namespace may not mount it where the host's /proc is partly covered: none then
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
            _mount(None, target, None, MS_BIND | MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV | _kept_flags(target))
    os.makedirs(new + SANDBOX, mode=0o755, exist_ok=True)
    _bind_readonly(plan["bundle"], new + SANDBOX)
    if code_shared(plan):  # the process's one copy, over the bundle's empty _grader
        _bind_readonly(plan["code"], new + CODE)
    uid = _child_uid(plan)
    _mount("tmpfs", new + SANDBOX + "/work", "tmpfs", MS_NOSUID | MS_NODEV,
           f"size={plan['work_mb']}m,mode=0700,uid={uid},gid={uid}")
    os.chdir(new)
    number = _syscall_number(SYS_PIVOT_ROOT, "pivot_root")
    _check(_libc.syscall(number, b".", b"."), "pivot_root")  # the old root now sits on top of the new
    _check(_libc.umount2(b".", MNT_DETACH), "umount the old root")
    os.chdir("/")
    _mount(None, "/", None, MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV, "size=1m,mode=0755")


def apply_limits(memory_mb: int, cpu_s: int, device: str, nproc: int | None, file_mb: int, open_files: int) -> None:
    """The child's resource limits (set in the child itself, before any of its code runs).

    CPU time (SIGXCPU, then SIGKILL), file size, open files, processes, no core dumps and, on
    the CPU, the address space (CUDA reserves large virtual ranges; GPU memory is capped in
    torch instead). The child dies with its parent. On Linux a limit that cannot be set stops
    the child: never weaker than reported; elsewhere (macOS) some limits do not exist.
    """
    linux = sys.platform.startswith("linux")

    def setrlimit(which: int, value: int, hard: int | None = None) -> None:
        try:
            resource.setrlimit(which, (value, value if hard is None else hard))
        except (ValueError, OSError):
            if linux:
                raise

    if linux:
        _prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    setrlimit(resource.RLIMIT_CORE, 0)
    setrlimit(resource.RLIMIT_CPU, cpu_s, cpu_s + 5)
    setrlimit(resource.RLIMIT_FSIZE, file_mb * 2**20)
    setrlimit(resource.RLIMIT_NOFILE, open_files)
    if nproc is not None:
        setrlimit(resource.RLIMIT_NPROC, nproc)
    if device == "cpu":
        setrlimit(resource.RLIMIT_AS, memory_mb * 2**20)


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


# The seccomp filter that forbids new processes (threads stay allowed): classic BPF over struct seccomp_data.
_ARCH = {"x86_64": 0xC000003E, "aarch64": 0xC00000B7}                  # AUDIT_ARCH_* of the native ABI
_CLONE = {"x86_64": 56, "aarch64": 220}
_NO_PROCESS = {"x86_64": (57, 58), "aarch64": ()}                      # fork, vfork (aarch64 has neither)
_CLONE3 = 435                                                          # the same on both
CLONE_THREAD = 0x00010000
_X32_BIT = 0x40000000                                                   # x86_64's x32 ABI marks its numbers so
PR_SET_SECCOMP, SECCOMP_MODE_FILTER = 22, 2
_LD_W_ABS, _JEQ, _JGE, _JSET, _RET = 0x20, 0x15, 0x35, 0x45, 0x06
_ALLOW, _ERRNO = 0x7FFF0000, 0x00050000
EPERM, ENOSYS = 1, 38


class _SockFilter(ctypes.Structure):
    _fields_ = [("code", ctypes.c_uint16), ("jt", ctypes.c_uint8), ("jf", ctypes.c_uint8), ("k", ctypes.c_uint32)]


class _SockFprog(ctypes.Structure):
    _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.POINTER(_SockFilter))]


def no_process_filter(machine: str) -> list[tuple[int, int, int, int]]:
    """The filter's instructions (code, jt, jf, k): clone only with CLONE_THREAD (a thread), fork and vfork
    refused with EPERM, clone3 answered ENOSYS (its flags sit in memory a filter cannot read; the C
    library then falls back to clone), any other ABI than the native one refused outright."""
    if machine not in _ARCH:
        raise IsolationError(0, f"no process filter for the {machine} architecture")
    deny, allow = (_RET, 0, 0, _ERRNO | EPERM), (_RET, 0, 0, _ALLOW)
    body = [(_JEQ, 0, 1, _CLONE3), (_RET, 0, 0, _ERRNO | ENOSYS)]
    for number in _NO_PROCESS[machine]:
        body += [(_JEQ, 0, 1, number), deny]
    body += [(_JEQ, 1, 0, _CLONE[machine]), allow,
             (_LD_W_ABS, 0, 0, 16),                         # args[0], low half: clone's flags
             (_JSET, 1, 0, CLONE_THREAD), deny, allow]
    head = [(_LD_W_ABS, 0, 0, 4), (_JEQ, 1, 0, _ARCH[machine]), deny,   # seccomp_data.arch
            (_LD_W_ABS, 0, 0, 0)]                                        # seccomp_data.nr
    if machine == "x86_64":
        head += [(_JGE, 0, 1, _X32_BIT), deny]
    return head + body


def forbid_new_processes() -> None:
    """From here on this process and its threads may start threads but no process (fork, vfork, spawn,
    clone without CLONE_THREAD all fail with EPERM). Needs no_new_privs, which :func:`enter` sets first;
    the filter is inherited and cannot be removed."""
    code = no_process_filter(platform.machine())
    program = (_SockFilter * len(code))(*[_SockFilter(*c) for c in code])
    fprog = _SockFprog(len(code), program)
    _check(_libc.prctl(ctypes.c_int(PR_SET_SECCOMP), ctypes.c_ulong(SECCOMP_MODE_FILTER), ctypes.byref(fprog),
                       ctypes.c_ulong(0), ctypes.c_ulong(0)), "install the process filter")
    global processes_forbidden
    processes_forbidden = True


def _drop_privileges(uid: int) -> None:
    os.setgroups([])
    os.setresgid(uid, uid, uid)
    os.setresuid(uid, uid, uid)


def _child_uid(plan: dict) -> int:
    """The uid the submission runs as, seen from inside the sandbox."""
    if plan.get("via") == "user-namespace":
        return INNER_ID
    return plan["uid"] if "uid" in plan["layers"] else os.getuid()


def _enter_user_namespace(flags: int, uid: int) -> None:
    """Make a user namespace (and with it the others in ``flags``).

    An ordinary user maps its own uid and gid to :data:`INNER_ID`, the one id it may map; every
    capability then holds inside, and only there, until :func:`_drop_capabilities`. Root maps
    ``uid`` (the sandbox's own) to :data:`INNER_ID` and itself to 0: a process of the namespace
    may not write such a map, so a helper forked beforehand, still outside, writes it.
    """
    if os.geteuid() != 0:
        outer_uid, outer_gid = os.getuid(), os.getgid()
        _check(_libc.unshare(CLONE_NEWUSER | flags), "unshare a user namespace")
        _write_maps("self", "deny", f"{INNER_ID} {outer_uid} 1", f"{INNER_ID} {outer_gid} 1")
        return
    os.setgroups([])
    me = os.getpid()
    ready_r, ready_w = os.pipe()
    helper = os.fork()
    if helper == 0:
        os.close(ready_w)
        code = 1
        try:
            if os.read(ready_r, 1) == b"1":
                ids = f"0 0 1\n{INNER_ID} {uid} 1"
                _write_maps(str(me), "allow", ids, ids)
                code = 0
        finally:
            os._exit(code)
    os.close(ready_r)
    try:
        _check(_libc.unshare(CLONE_NEWUSER | flags), "unshare a user namespace")
        os.write(ready_w, b"1")
    finally:
        os.close(ready_w)
        _, status = os.waitpid(helper, 0)
    if status != 0:
        raise IsolationError(0, "the helper could not write the user namespace's id maps")


def _write_maps(pid: str, setgroups: str, uid_map: str, gid_map: str) -> None:
    for name, text in (("setgroups", setgroups), ("uid_map", uid_map), ("gid_map", gid_map)):
        try:
            with open(f"/proc/{pid}/{name}", "w") as f:
                f.write(text)
        except OSError as e:
            raise IsolationError(e.errno or 0, f"write /proc/{pid}/{name}: {e.strerror}") from None


def _syscall_number(table: dict[str, int], what: str) -> int:
    number = table.get(platform.machine())
    if number is None:
        raise IsolationError(0, f"{what}: unknown architecture {platform.machine()}")
    return number


def _drop_capabilities() -> None:
    """Give up every capability the user namespace granted: bounding, ambient, effective, permitted.

    Root's way in, the process is the namespace's uid 0 until now: it becomes :data:`INNER_ID`.
    """
    cap = 0
    while _libc.prctl(PR_CAPBSET_DROP, ctypes.c_ulong(cap), 0, 0, 0) == 0:
        cap += 1
    if ctypes.get_errno() != 22 or cap == 0:  # EINVAL: past the last capability the kernel knows
        _check(-1, "drop the capability bounding set")
    _prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL)
    if os.getuid() != INNER_ID:
        os.setresgid(INNER_ID, INNER_ID, INNER_ID)
        os.setresuid(INNER_ID, INNER_ID, INNER_ID)
    _capability_sets(SYS_CAPSET, "capset")  # all zero


def capabilities() -> int:
    """The effective and permitted capabilities this process holds, as one bit mask (0: none)."""
    data = _capability_sets(SYS_CAPGET, "capget")
    return data[0] | data[1] | data[3] | data[4]


def _capability_sets(table: dict[str, int], what: str) -> ctypes.Array:
    """capget or capset on this process with zeroed sets: effective, permitted, inheritable, twice 32 bits."""
    header = (ctypes.c_uint32 * 2)(CAP_VERSION_3, 0)
    data = (ctypes.c_uint32 * 6)()
    _check(_libc.syscall(_syscall_number(table, what), header, data), what)
    return data


def enter(plan: dict) -> str:
    """Apply ``plan["layers"]`` to this process; returns where the bundle is now visible.

    ``plan``: layers, via (root or user-namespace), uid, bundle (its real path), code (where the child's
    code is: the bundle's ``_grader``, or one copy shared by a process's sessions), root_dir (an
    empty directory for the new root), binds (read-only paths), hide (paths inside binds to
    show empty), python (the directories Python imports from), devices, tmp_mb, work_mb,
    keep_fds (the grader's pipes), nproc (process limit under the sandbox's own uid: in a user
    namespace, of that namespace alone), outer_gid and outer_groups (the grader's gid and groups,
    which a user namespace shows through its map).

    The user-namespace way must be entered with the user's own RLIMIT_NPROC: the kernel takes
    the limit in force when the namespace is made as the ceiling, at the real uid, of every
    process and thread of that user, so a lower one here would let any other process of the
    user (a neighbour's sandbox, a torch thread pool) stop this session's next thread.
    """
    layers = set(plan["layers"])
    if not sys.platform.startswith("linux"):
        os.chdir(plan["bundle"] + "/work")
        return plan["bundle"]  # the process level only; the grader probes nothing more here
    _prctl(PR_SET_CHILD_SUBREAPER, 1)  # orphans of the submission stay ours to find and kill
    flags = (CLONE_NEWNET if "network" in layers else 0) | \
        (CLONE_NEWPID | CLONE_NEWIPC if "pid" in layers else 0) | \
        (CLONE_NEWNS if "filesystem" in layers else 0)  # with its processes, the host's SysV IPC goes too
    userns = bool(layers) and plan.get("via") == "user-namespace"
    if userns:
        _enter_user_namespace(flags, plan["uid"])
    elif flags:
        _check(_libc.unshare(flags), "unshare")
    alive = _fork_into_pid_namespace(plan["keep_fds"]) if "pid" in layers else None
    if "pid" in layers:
        _prctl(PR_SET_CHILD_SUBREAPER, 1)
        os.setsid()  # a group of its own: kill(0) from here reaches nothing outside the namespace
    if "filesystem" in layers:
        _private_root(plan)
    bundle = SANDBOX if "filesystem" in layers else plan["bundle"]
    if "uid" in layers:
        resource.setrlimit(resource.RLIMIT_NPROC, (plan["nproc"], plan["nproc"]))
        if userns:
            _drop_capabilities()
        else:
            _drop_privileges(plan["uid"])
    _prctl(PR_SET_NO_NEW_PRIVS, 1)
    if alive is not None:
        _prctl(PR_SET_PDEATHSIG, signal.SIGKILL)  # set after the uid change, which clears it
        if select.select([alive], [], [], 0)[0]:
            os._exit(137)  # the process left behind was killed before we could follow it
    if "pid" in layers:
        forbid_new_processes()  # last: nothing above may fork once it is in place
    os.chdir(bundle + "/work")
    return bundle


def code_shared(plan: dict) -> bool:
    """Whether the child's code is the one copy its grading process shares between sessions, not the bundle's."""
    return plan["code"] != plan["bundle"] + "/_grader"


def code_inside(plan: dict) -> str:
    """Where the child's code is once :func:`enter` has applied ``plan``."""
    return CODE if "filesystem" in plan["layers"] else plan["code"]


def remap_into(plan: dict, inside: str) -> None:
    """After :func:`enter` (which returned ``inside``): the bundle's and the code's modules and paths where the
    child now sees them."""
    remap_modules(plan["code"], code_inside(plan))
    remap_modules(plan["bundle"], inside)


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
