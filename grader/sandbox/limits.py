"""A sandboxed child's resource limits: CPU time, memory, file size, open files and processes.

The process limit is the subtle one: RLIMIT_NPROC counts every process and thread of a uid,
so how high it may be set depends on whether the sandbox has a uid of its own and on how the
kernel counts inside a user namespace.
"""
from __future__ import annotations

import itertools
import os
import resource

FILE_SIZE_MB = 64        # largest file the child may write (its captured output included)
OPEN_FILES = 256
NPROC = 64               # processes and threads under the sandbox's own uid


def rlimits(memory_mb: int, cpu_s: int, device: str, nproc: int | None) -> dict:
    """The child's resource limits, as :func:`grader.sandbox.inside.isolation.apply_limits` takes them
    (in the child, before it runs anything)."""
    return {"memory_mb": memory_mb, "cpu_s": cpu_s, "device": device, "nproc": nproc, "file_mb": FILE_SIZE_MB,
            "open_files": OPEN_FILES}


def session_nproc(via: str | None) -> int:
    """The process limit under the sandbox's own uid (``via``: how its namespaces are made).

    A user namespace counts its processes and threads apart from the user's others since Linux
    5.14; before that the limit would count all of them, so it gets the process level's margin.
    """
    if via != "user-namespace" or own_count_per_namespace():
        return NPROC
    return process_level_nproc() or NPROC


def own_count_per_namespace() -> bool:
    """Whether the kernel counts RLIMIT_NPROC per user namespace (Linux 5.14 and later)."""
    return _kernel_at_least(5, 14)


def _kernel_at_least(*version: int) -> bool:
    parts = []
    for piece in os.uname().release.split(".")[:len(version)]:
        digits = "".join(itertools.takewhile(str.isdigit, piece))
        parts.append(int(digits or 0))
    return tuple(parts) >= version


def outer_nproc(via: str | None) -> int | None:
    """The process limit a child starts with, before it enters its layers; None leaves the grader's.

    The user-namespace way keeps the user's own limit: the kernel makes the limit in force when
    the namespace is made the ceiling of all the user's processes and threads together, so a
    lower one would let a neighbouring sandbox's processes, or any thread pool of the user,
    stop this child's next thread. The session's own limit is counted inside its namespace.
    """
    if os.geteuid() == 0 or (via == "user-namespace" and own_count_per_namespace()):
        return None
    return process_level_nproc()


def process_level_nproc() -> int | None:
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
