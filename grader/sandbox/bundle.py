"""The session bundle: the one directory a sandboxed child is given, and how its isolation is laid out.

A bundle holds copies of the grader's child-side code (``grader/tasks/`` with one suite, and
``grader/sandbox/inside/``), the submission, and a work directory. The fork server
(:mod:`grader.sandbox.warm`) is started from a bundle without a suite or a submission. What the
child's private file system shows (the system, the Python installation) and hides (the
reference, the grader, course.yaml) is decided here too, and so is how paths inside a bundle
read in messages.
"""
from __future__ import annotations

import importlib.util
import os
import py_compile
import shutil
import stat
import sys
import tempfile
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


def copy_child_code(pkg: Path, assignment: str | None) -> None:
    """The grader's child-side code under ``pkg`` (``grader/``), with only this assignment's suite."""
    for folder in ("", "sandbox") + CHILD_PACKAGES + ("tasks/suites",):
        (pkg / folder).mkdir(parents=True, exist_ok=True)
        (pkg / folder / "__init__.py").write_text("")  # the host's package docstrings stay at home
    for folder in CHILD_PACKAGES:
        for src in (GRADER_DIR / folder).glob("*.py"):
            if src.name != "__init__.py" and f"{folder}/{src.name}" not in HOST_ONLY:
                shutil.copy2(src, pkg / folder / src.name)
    shutil.copy2(GRADER_DIR / "tasks" / "suites" / "__init__.py", pkg / "tasks" / "suites" / "__init__.py")
    if assignment is not None:
        suite = Path("tasks") / "suites" / f"{assignment}.py"
        shutil.copy2(GRADER_DIR / suite, pkg / suite)
        cached = Path(importlib.util.cache_from_source(str(pkg / suite), optimization=""))
        cached.parent.mkdir(exist_ok=True)
        cached.write_bytes(suite_bytecode((GRADER_DIR / suite).read_bytes()))


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


def make(root: Path, assignment: str | None, submission: Path | None) -> Path:
    """Lay out the child's directory: the driver package, the suite, the submission copy, a work dir."""
    os.chmod(root, 0o711)  # the sandbox's uid may pass through, not list (the log lives here)
    bundle = root / "bundle"
    copy_child_code(bundle / "_grader" / "grader", assignment if submission is not None else None)
    sub_root = bundle / "submission"
    sub_root.mkdir()
    if assignment is not None and submission is not None:
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
           keep: list[int]) -> dict:
    """The child's isolation, as :func:`grader.sandbox.inside.isolation.enter` takes it: the ``layers`` to
    enter (made ``via`` root or a user namespace), what its root shows and hides, its uid and limits;
    ``keep``: the descriptors it keeps open."""
    uid = sandbox_uid()
    if "uid" in layers and "filesystem" not in layers and os.geteuid() == 0:
        os.chown(bundle / "work", uid, uid)  # an ordinary user's child is that user outside: it owns it already
        os.chmod(bundle / "work", 0o700)
    python = [p for p in sys.path if p.startswith(sys.base_prefix) and os.path.isdir(p)] + site_dirs()
    return {"layers": list(layers), "via": via, "uid": uid, "device": device, "bundle": str(bundle),
            "root_dir": str(root / "newroot"), "binds": binds(device), "hide": hidden(), "python": python,
            "devices": devices(device), "tmp_mb": TMP_MB, "work_mb": WORK_MB,
            "keep_fds": keep, "nproc": limits.session_nproc(via),
            "outer_gid": os.getgid(), "outer_groups": [] if os.geteuid() == 0 else os.getgroups()}


def child_env(bundle: Path, layers: tuple[str, ...]) -> dict[str, str]:
    """The child's whole environment: :data:`CHILD_ENV` and HOME, its work directory as it will see it."""
    return {**CHILD_ENV, "HOME": SHOWN_ROOT + "/work" if "filesystem" in layers else str(bundle / "work")}


def shown(text: str, bundle: str) -> str:
    """Paths as the student knows them: ``a02_mlp_backprop/layers.py``, not where the sandbox put it."""
    for root in (bundle, SHOWN_ROOT):
        text = text.replace(root + "/submission/", "")
    return text.replace(bundle, SHOWN_ROOT)
