"""The session bundle: the one directory a sandboxed child is given, and how its isolation is laid out.

A bundle holds the suite (``suite/``, with its bytecode), the submission, a work directory and the
grader's child-side code (``_grader/grader/``: ``grader/tasks/`` without any suite, and
``grader/sandbox/inside/``). That code is the same for every session of a grading process, so where
the child cannot change it (a private file system, which shows it read-only), it is one copy per
process (:func:`shared_code`), bound read-only at ``_grader``; without a private file system, each
session gets a copy of its own, so that no session can change the code the next one runs. The fork
server (:mod:`grader.sandbox.warm`) is started from a bundle without a suite or a submission. What
the child's private file system shows (the system, the Python installation) and hides (the
reference, the grader, course.yaml) is decided here too, and so is how paths inside a bundle read in
messages. The grader's temporary folders are held by their process (:func:`hold`), so that the next
grading removes those of a process that was killed (:func:`sweep`).
"""
from __future__ import annotations

import atexit
import contextlib
import fcntl
import importlib.util
import os
import py_compile
import shutil
import stat
import sys
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path

from grader import paths
from grader.sandbox import limits
from grader.sandbox.inside import isolation

GRADER_DIR = Path(__file__).resolve().parent.parent
TMP_MB, WORK_MB = 16, 64  # private /tmp and working directory (file-system layer)
SHOWN_ROOT = isolation.SANDBOX  # bundle paths in messages read the same on every run and level
CHILD_ENV = {"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8", "PYTHONHASHSEED": "0", "PYTHONDONTWRITEBYTECODE": "1",
             "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1",
             "CUBLAS_WORKSPACE_CONFIG": ":4096:8"}  # and HOME, the child's work directory
SYSTEM_DIRS = ["/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32", "/etc"]
# What crosses into the child, and nothing else: the folders whose code the child runs. Both import
# only the standard library, torch, numpy and each other (tests/grader/test_import_rules.py).
CHILD_PACKAGES = ("tasks", "sandbox/inside")
HOST_ONLY = ("tasks/catalogue.py",)  # the grader's index of the suites, kept in its cache folder: never copied


def site_dirs() -> list[str]:
    """Directories holding torch and numpy, added to the child's path without running .pth files (found
    without importing either: the fork server starts before the grader imports torch)."""
    dirs = []
    for name in ("torch", "numpy"):
        module = sys.modules.get(name)
        origin = module.__file__ if module is not None else importlib.util.find_spec(name).origin
        d = str(Path(origin).resolve().parent.parent)
        if d not in dirs:
            dirs.append(d)
    return dirs


def binds(device: str) -> list[str]:
    """What the private file system shows, read-only: the system's libraries and the Python installation."""
    python = [sys.base_prefix, str(Path(sys.base_prefix).resolve()), *site_dirs()]
    return list(dict.fromkeys(SYSTEM_DIRS + python + (["/sys"] if device == "cuda" else [])))


def hidden() -> list[str]:
    """What the child must not read, wherever it is installed: the reference, the grader, course.yaml, the
    instructor's cache folder (it holds the hidden cases) and a student repository's frozen expected values."""
    found = [paths.REFERENCE, paths.COURSE, paths.ROOT / "fixtures", paths.ROOT / "grader", GRADER_DIR,
             paths.cache_dir()]
    for site in site_dirs():  # a non-editable install puts both packages in site-packages
        found += [Path(site) / "reference", Path(site) / "grader"]
    return list(dict.fromkeys(str(p) for p in found))


def devices(device: str) -> list[str]:
    devs = ["/dev/null", "/dev/zero", "/dev/full", "/dev/random", "/dev/urandom"]
    if device == "cuda":
        devs += sorted(str(p) for p in Path("/dev").glob("nvidia*"))
    return devs


_uids = iter(range(10**9))


def sandbox_uid() -> int:
    """A uid no one else uses, so a fork bomb or kill(-1) reaches only this sandbox's processes."""
    return 200_000 + (os.getpid() % 20_000) * 64 + next(_uids) % 64


def copy_child_code(pkg: Path) -> None:
    """The grader's child-side code under ``pkg`` (``grader/``), without any suite."""
    for folder in ("", "sandbox") + CHILD_PACKAGES + ("tasks/suites",):
        (pkg / folder).mkdir(parents=True, exist_ok=True)
        (pkg / folder / "__init__.py").write_text("")  # the host's package docstrings stay at home
    for folder in CHILD_PACKAGES:
        for src in (GRADER_DIR / folder).glob("*.py"):
            if src.name != "__init__.py" and f"{folder}/{src.name}" not in HOST_ONLY:
                shutil.copy2(src, pkg / folder / src.name)
    shutil.copy2(GRADER_DIR / "tasks" / "suites" / "__init__.py", pkg / "tasks" / "suites" / "__init__.py")


def lay_suite(folder: Path, assignment: str) -> None:
    """The assignment's suite under ``folder`` (the child imports it as ``grader.tasks.suites.<assignment>``),
    its bytecode beside it."""
    folder.mkdir()
    source = (GRADER_DIR / "tasks" / "suites" / f"{assignment}.py").read_bytes()
    (folder / f"{assignment}.py").write_bytes(source)
    cached = Path(importlib.util.cache_from_source(str(folder / f"{assignment}.py"), optimization=""))
    cached.parent.mkdir()
    cached.write_bytes(suite_bytecode(source))


def shares_code(layers: tuple[str, ...] | list[str]) -> bool:
    """Whether a child at these layers reads the grader's code from the one copy its grading process shares
    between sessions: where its private file system shows that copy read-only. Elsewhere (the process and
    namespaces levels, where the child may be the grader's own user outside) each session gets a copy of
    its own, so that no session can change the code the next one runs."""
    return "filesystem" in layers


TEMP_PREFIX = "deepgrade-"  # the grader's temporary folders: the child's code, each session's
CODE_PREFIX, SESSION_PREFIX = TEMP_PREFIX + "code-", TEMP_PREFIX + "session-"
OWNER = ".owner"  # in each of them: locked by the process that made it, for as long as it lives
_shared: tuple[int, Path, int | None] | None = None  # (the process that made it, its _grader folder, its lock)
_shared_lock = threading.Lock()


def shared_code(layers: tuple[str, ...] | list[str]) -> Path | None:
    """This process's one copy of the child's code (a ``_grader`` folder holding ``grader/``) for the sessions
    at ``layers``, where :func:`shares_code`; None where each session needs its own. Made on first use, its
    modes read-only, removed when the process exits (where it is killed instead, by the next process that
    makes one: :func:`sweep`); made again where it has gone (a temporary-file cleaner) and in a process
    forked from its maker."""
    global _shared
    if not shares_code(layers):
        return None
    with _shared_lock:
        if _shared is None or _shared[0] != os.getpid() or not (_shared[1] / "grader" / "__init__.py").is_file():
            sweep_once()
            top = Path(tempfile.mkdtemp(prefix=CODE_PREFIX))
            lock = hold(top)
            copy_child_code(top / "_grader" / "grader")
            for folder, _, files in os.walk(top / "_grader"):  # nobody writes it once made, not even its owner
                os.chmod(folder, 0o555)
                for f in files:
                    os.chmod(os.path.join(folder, f), 0o444)
            _shared = (os.getpid(), top / "_grader", lock)
            atexit.register(_remove, top, os.getpid(), lock)
        return _shared[1]


def hold(folder: Path) -> int | None:
    """Lock ``folder`` as this process's (its :data:`OWNER` file, locked before it bears that name, so that
    :func:`sweep` never finds it unlocked while this process lives); the lock's descriptor. Where the file
    system takes no lock, the folder gets no such file (no sweep will judge it) and None is returned."""
    fd = os.open(folder / (OWNER + ".new"), os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
    except OSError:
        os.close(fd)
        os.unlink(folder / (OWNER + ".new"))
        return None
    os.rename(folder / (OWNER + ".new"), folder / OWNER)
    return fd


@contextlib.contextmanager
def session_root() -> Iterator[Path]:
    """A session's temporary folder, held as :func:`hold` holds one, removed when the session ends."""
    sweep_once()
    with tempfile.TemporaryDirectory(prefix=SESSION_PREFIX) as tmp:
        lock = hold(Path(tmp))
        try:
            yield Path(tmp)
        finally:
            if lock is not None:
                os.close(lock)


_swept: set[int] = set()  # the processes that have swept


def sweep_once() -> None:
    """:func:`sweep`, the first time this process asks."""
    if os.getpid() not in _swept:
        _swept.add(os.getpid())
        sweep()


def sweep() -> None:
    """Remove what grading processes of this user that were killed left behind: the grader's folders
    (:data:`TEMP_PREFIX`) in the temporary folder whose :data:`OWNER` lock nobody holds (a lock held in
    another PID namespace counts as held). A folder without that file is not judged."""
    me = os.geteuid()
    try:
        entries = list(os.scandir(tempfile.gettempdir()))
    except OSError:
        return
    for entry in entries:
        try:
            if not entry.name.startswith(TEMP_PREFIX) or not entry.is_dir(follow_symlinks=False) \
                    or entry.stat(follow_symlinks=False).st_uid != me:
                continue
            fd = os.open(os.path.join(entry.path, OWNER), os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
        except OSError:
            continue
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            continue  # its process lives
        finally:
            os.close(fd)  # the lock, where taken, goes with it: the folder is removed next either way
        _remove(Path(entry.path), os.getpid())


def _remove(top: Path, owner: int, lock: int | None = None) -> None:
    if os.getpid() == owner and not os.path.islink(top):  # a folder, never what a link points at
        for folder, _, _ in os.walk(top):
            with contextlib.suppress(OSError):
                os.chmod(folder, 0o700)
        shutil.rmtree(top, ignore_errors=True)
        if lock is not None:
            with contextlib.suppress(OSError):
                os.close(lock)


_bytecode: dict[bytes, bytes] = {}  # a suite's source -> its bytecode, compiled once per grading process


def suite_bytecode(source: bytes) -> bytes:
    """A suite's bytecode as an unchecked hash-based .pyc: compiled once per process and laid beside every
    session's copy of the suite, so a child imports it without compiling (1.6 ms for a02's suite, 14 ms for
    a10's). Python gives its code the file name of the copy it is loaded beside; the fork server never holds
    a suite, so this is as close to it as the suite's compiling can come."""
    if source not in _bytecode:
        with tempfile.TemporaryDirectory(prefix="suite-") as tmp:
            src, pyc = Path(tmp) / "suite.py", Path(tmp) / "suite.pyc"
            src.write_bytes(source)
            py_compile.compile(str(src), cfile=str(pyc), doraise=True,
                               invalidation_mode=py_compile.PycInvalidationMode.UNCHECKED_HASH)
            _bytecode[source] = pyc.read_bytes()
    return _bytecode[source]


def make(root: Path, assignment: str | None, submission: Path | None, code: Path | None = None) -> Path:
    """Lay out the child's directory: the suite, the submission copy, a work dir, and the driver package: a copy
    of its own under ``_grader``, or, given the process's ``code`` (:func:`shared_code`), ``_grader`` left
    empty for it to be bound there."""
    os.chmod(root, 0o711)  # the sandbox's uid may pass through, not list (the log lives here)
    bundle = root / "bundle"
    if code is None:
        copy_child_code(bundle / "_grader" / "grader")
    else:
        (bundle / "_grader").mkdir(parents=True)
    sub_root = bundle / "submission"
    sub_root.mkdir()
    if assignment is not None and submission is not None:
        lay_suite(bundle / "suite", assignment)
        shutil.copytree(submission, sub_root / assignment, ignore=_not_copied)
    (bundle / "work").mkdir()
    (root / "newroot").mkdir()
    readable(bundle)
    return bundle


def readable(folder: Path) -> None:
    """Every folder under ``folder`` open to pass through and list, every file to read: by any uid."""
    for d, _, files in os.walk(folder):
        os.chmod(d, 0o755)
        for f in files:
            os.chmod(os.path.join(d, f), 0o644)


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


def layout(root: Path, bundle: Path, layers: tuple[str, ...], via: str | None, device: str,
           keep: list[int], code: Path | None = None) -> dict:
    """The child's isolation, as :func:`grader.sandbox.inside.isolation.enter` takes it: the ``layers`` to
    enter (made ``via`` root or a user namespace), what its root shows and hides, its uid and limits;
    ``keep``: the descriptors it keeps open; ``code``: where its code is, where not in the bundle
    (:func:`shared_code`)."""
    uid = sandbox_uid()
    if "uid" in layers and "filesystem" not in layers and os.geteuid() == 0:
        os.chown(bundle / "work", uid, uid)  # an ordinary user's child is that user outside: it owns it already
        os.chmod(bundle / "work", 0o700)
    python = [p for p in sys.path if p.startswith(sys.base_prefix) and os.path.isdir(p)] + site_dirs()
    return {"layers": list(layers), "via": via, "uid": uid, "device": device, "bundle": str(bundle),
            "code": str(code if code is not None else bundle / "_grader"),
            "root_dir": str(root / "newroot"), "binds": binds(device), "hide": hidden(), "python": python,
            "devices": devices(device), "tmp_mb": TMP_MB, "work_mb": WORK_MB,
            "keep_fds": keep, "nproc": limits.session_nproc(via),
            "outer_gid": os.getgid(), "outer_groups": [] if os.geteuid() == 0 else os.getgroups()}


def probe_layout(root: Path, layers: tuple[str, ...], via: str | None, device: str) -> tuple[Path, dict]:
    """An isolation probe's bundle (no suite, no submission) and :func:`layout`, laid out under ``root`` as
    the level's sessions are (the shared code where they share it), so the probe sets up what they will."""
    code = shared_code(layers)
    bundle = make(root, None, None, code)
    return bundle, layout(root, bundle, layers, via, device, [], code)


def child_env(bundle: Path, layers: tuple[str, ...]) -> dict[str, str]:
    """The child's whole environment: :data:`CHILD_ENV` and HOME, its work directory as it will see it."""
    return {**CHILD_ENV, "HOME": SHOWN_ROOT + "/work" if "filesystem" in layers else str(bundle / "work")}


def shown(text: str, bundle: str) -> str:
    """Paths as the student knows them: ``a02_mlp_backprop/layers.py``, not where the sandbox put it."""
    for root in (bundle, SHOWN_ROOT):
        text = text.replace(root + "/submission/", "")
    return text.replace(bundle, SHOWN_ROOT)
