"""The reference's outputs on a suite's cases, computed once and kept in the instructor's cache folder.

Every grading of an assignment plans the same cases: inputs drawn from the suites' seeds, and the
reference's outputs on them. Both are kept, one file per assignment and suite, in
:func:`grader.paths.cache_dir` (``$DEEPGRADE_CACHE_DIR``, else ``$XDG_CACHE_HOME/deepgrade``, else
``~/.cache/deepgrade``), a folder of mode 0700 that the sandbox hides from the child. A file is used only
when its key is the one this grading would compute it under: the assignment, the suite's seed and number
of cases, the tasks graded, the reference's sources, the grader's own task definitions, the versions of
Python, torch, numpy and scipy, torch's default dtype and where the reference ran. Anything else (another
key, a digest that does not match the bytes, a file that does not read as an entry) is refused and
computed again; a folder that cannot be made, read or written only costs the time of computing, said
once on stderr. A student repository never comes here: its frozen fixtures are its public suite's
cache (:mod:`grader.judge.fixtures`).

An entry is one line of JSON (``{"format", "key", "sha256"}``) and one message of the sandbox's wire
format (``{task id: [{"suite", "index", "inputs", "expected"}, ...]}``); ``sha256`` is the digest of the
key and the message together, so a file is trusted for the key it was written for and no other.
"""
from __future__ import annotations

import functools
import hashlib
import importlib.util
import json
import os
import sys
import tempfile
import threading
from pathlib import Path
from typing import Any

from grader import paths
from grader.course.config import AssignmentConfig, Course
from grader.judge.cases import Case, computed_cases, memory, suite_names
from grader.tasks.model import Suite

FORMAT = "deepgrade-expected/1"
# What decides the cases and the reference's outputs, besides the reference: the grader's task definitions
# (the suites, their input generators, the task model) and how the outputs are computed.
GRADER_SOURCES = ("grader/tasks", "grader/judge/cases.py")
REFERENCE_RUNS_ON = "cpu"  # the reference's outputs are computed on the CPU whatever the grading's device
Planned = tuple[dict[str, list[Case]], dict[str, list[dict[str, Any]]]]

_said: set[str] = set()
_saying = threading.Lock()


def planned(course: Course, cfg: AssignmentConfig, suite: Suite, which: str) -> Planned:
    """Each task's cases and the reference's outputs on them, as :func:`computed_cases` gives them: from
    the cache where it holds them under this grading's key, else computed (and kept for the next one)."""
    cases: dict[str, list[Case]] = {t.id: [] for t in cfg.tasks}
    expected: dict[str, list[dict[str, Any]]] = {t.id: [] for t in cfg.tasks}
    folder = usable_folder()
    remembered = memory()  # a process that grades again and again reads each entry once
    for name in suite_names(which):
        key = entry_key(course, cfg, name)
        kept = folder is not None and bool(key["reference"])  # no reference: computing says why it cannot
        known = (FORMAT, json.dumps(key, sort_keys=True))
        part = remembered.get(known) if remembered is not None else None
        if part is None and kept:
            part = read(entry_path(folder, cfg.id, name), key, cfg, course.suites[name].cases)
        if part is None:
            part = computed_cases(course, cfg, suite, name)
            if kept:
                write(entry_path(folder, cfg.id, name), key, part)
        if remembered is not None:
            remembered[known] = part
        for tid in cases:
            cases[tid] += part[0][tid]
            expected[tid] += part[1][tid]
    return cases, expected


def entry_path(folder: Path, assignment: str, name: str) -> Path:
    return folder / f"expected-{assignment}-{name}.bin"


def entry_key(course: Course, cfg: AssignmentConfig, name: str) -> dict[str, Any]:
    """Everything that decides one suite's cases and the reference's outputs on them."""
    torch = sys.modules.get("torch")  # loaded: its default dtype may have been changed; not: it is float32
    return {"format": FORMAT, "assignment": cfg.id, "suite": name, "seed": course.suites[name].seed,
            "cases": course.suites[name].cases, "tasks": [t.id for t in cfg.tasks],
            "reference": _reference_digest(cfg.id), "grader": _grader_digest(),
            "versions": _versions(), "default_dtype": str(torch.get_default_dtype()) if torch else "torch.float32",
            "device": REFERENCE_RUNS_ON}


def read(path: Path, key: dict[str, Any], cfg: AssignmentConfig, count: int) -> Planned | None:
    """The entry at ``path`` when it was written for ``key`` and reads back whole; else None (computed again)."""
    from grader.sandbox.inside import wire

    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return None
    except OSError as e:
        say(f"grader: {path}: cannot be read ({e.strerror or e}): the expected values are computed instead")
        return None
    head, _, body = data.partition(b"\n")
    try:
        header = json.loads(head)
        if not isinstance(header, dict) or header.get("format") != FORMAT:
            raise ValueError("not an entry of the expected-value cache")
        if header.get("key") != key:
            return None  # written for other sources, seeds or versions: stale, not broken
        if header.get("sha256") != _digest(key, body):
            raise ValueError("its digest does not match its bytes")
        tree = wire.decode(body)
        return _planned(tree, cfg, key["suite"], count)
    except (ValueError, TypeError, KeyError) as e:  # wire.WireError is a ValueError
        say(f"grader: {path}: refused ({e}): the expected values are computed again")
        return None


def _planned(tree: Any, cfg: AssignmentConfig, name: str, count: int) -> Planned:
    """The cases of an entry's tree, checked to be this suite's, every task's, each with its outputs."""
    import torch

    if not isinstance(tree, dict) or list(tree) != [t.id for t in cfg.tasks]:
        raise ValueError("its tasks are not the assignment's")
    cases: dict[str, list[Case]] = {}
    expected: dict[str, list[dict[str, Any]]] = {}
    for tid, entries in tree.items():
        if not isinstance(entries, list) or len(entries) != count:
            raise ValueError(f"{tid} has not {count} cases")
        for i, e in enumerate(entries):
            if not isinstance(e, dict) or e.get("suite") != name or e.get("index") != i \
                    or not isinstance(e.get("inputs"), dict) or not isinstance(e.get("expected"), dict) \
                    or not all(type(v) is torch.Tensor for v in e["expected"].values()):
                raise ValueError(f"{tid}'s case {i} is not a case with its outputs")
        cases[tid] = [Case(name, i, e["inputs"]) for i, e in enumerate(entries)]
        expected[tid] = [e["expected"] for e in entries]
    return cases, expected


def write(path: Path, key: dict[str, Any], part: Planned) -> None:
    """Keep one suite's cases and outputs under ``key``, where they read back exactly; a file is replaced
    whole (a reader never sees half of one), and one that cannot be written only costs time."""
    from grader.judge.fixtures import differs
    from grader.sandbox.inside import wire

    cases, expected = part
    tree = {tid: [{"suite": c.suite, "index": c.index, "inputs": c.inputs, "expected": e}
                  for c, e in zip(cases[tid], expected[tid])] for tid in cases}
    try:
        body = wire.encode(tree)
    except (TypeError, ValueError):
        return
    if differs(tree, wire.decode(body), ""):
        return  # something the wire format does not carry exactly: such cases are computed each time
    header = json.dumps({"format": FORMAT, "key": key, "sha256": _digest(key, body)}, separators=(",", ":"))
    try:
        fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=".expected-", suffix=".tmp")
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(header.encode() + b"\n" + body)
            os.replace(temporary, path)
        except BaseException:
            os.unlink(temporary)
            raise
    except OSError as e:
        say(f"grader: the expected-value cache in {path.parent} cannot be written ({e.strerror or e}): "
            "the expected values are computed on every grading, which costs time, never points")


def usable_folder() -> Path | None:
    """The cache folder, made if need be (mode 0700), when it is this user's and no one else's; else None,
    said once on stderr."""
    folder = paths.cache_dir()
    why = ""
    try:
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        info = folder.stat()
        if info.st_uid != os.geteuid():
            why = "it belongs to another user"
        elif info.st_mode & 0o077:
            os.chmod(folder, 0o700)  # hidden cases are kept here: no one else may read them
    except OSError as e:
        why = e.strerror or str(e)
    if why:
        say(f"grader: the expected-value cache {folder} cannot be used ({why}): the expected values are "
            "computed on every grading, which costs time, never points")
        return None
    return folder


def say(message: str) -> None:
    """``message`` on stderr, once per process."""
    with _saying:
        if message in _said:
            return
        _said.add(message)
    print(message, file=sys.stderr)


def _digest(key: dict[str, Any], body: bytes) -> str:
    return hashlib.sha256(json.dumps(key, sort_keys=True).encode() + b"\n" + body).hexdigest()


@functools.lru_cache(maxsize=None)
def _tree_digest(root: str) -> str:
    """The digest of every file under ``root`` (its path and bytes), compiled caches left out."""
    h = hashlib.sha256()
    base = Path(root)
    for path in sorted(p for p in base.rglob("*") if p.is_file() and "__pycache__" not in p.parts):
        h.update(path.relative_to(base).as_posix().encode() + b"\0" + path.read_bytes() + b"\0")
    return h.hexdigest()


def _reference_digest(assignment: str) -> str:
    """The digest of the reference package the outputs are computed with (the one Python imports)."""
    spec = importlib.util.find_spec("reference")
    folders = spec.submodule_search_locations if spec and spec.submodule_search_locations else []
    return _tree_digest(str(Path(folders[0]) / assignment)) if folders else ""


@functools.lru_cache(maxsize=1)
def _grader_digest() -> str:
    return hashlib.sha256("".join(_tree_digest(str(paths.ROOT / p)) if (paths.ROOT / p).is_dir() else
                                  hashlib.sha256((paths.ROOT / p).read_bytes()).hexdigest()
                                  for p in GRADER_SOURCES).encode()).hexdigest()


@functools.lru_cache(maxsize=1)
def _versions() -> dict[str, str]:
    """Python's version and each numeric library's version file (torch's names its build and commit),
    read without importing the library."""
    found = {"python": sys.version}
    for name in ("torch", "numpy", "scipy"):
        spec = importlib.util.find_spec(name) if name not in sys.modules else sys.modules[name].__spec__
        where = (spec.submodule_search_locations or [None])[0] if spec else None
        version = Path(where) / "version.py" if where else None
        found[name] = hashlib.sha256(version.read_bytes()).hexdigest() if version and version.is_file() else ""
    return found
