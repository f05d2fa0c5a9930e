"""The instructor's cache folder: what the grader computed once and keeps between runs.

The folder is :func:`grader.paths.cache_dir`; it is made with mode 0700 (it holds the hidden suite's
cases) and used only when it is this user's alone. Each file in it is written whole (a reader never
sees half of one) with a key and a digest of the key and the bytes, so a file is trusted for the key
it was written for and no other (:func:`read`, :func:`write`). A folder that cannot be made, read or
written only costs the time of computing again, said once on stderr.

Only the standard library: the course's loader and the judge both keep things here, and a command
that grades nothing must not pay for anything heavier.
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

LIBRARIES = ("torch", "numpy", "scipy", "sklearn")  # whose versions decide what is kept

_said: set[str] = set()
_saying = threading.Lock()


def folder() -> Path | None:
    """The cache folder, made if need be (mode 0700), when it is this user's and no one else's; else None,
    said once on stderr."""
    where = paths.cache_dir()
    why = ""
    try:
        where.mkdir(mode=0o700, parents=True, exist_ok=True)
        info = where.stat()
        if hasattr(os, "geteuid") and info.st_uid != os.geteuid():
            why = "it belongs to another user"
        elif info.st_mode & 0o077:
            os.chmod(where, 0o700)  # hidden cases are kept here: no one else may read them
    except OSError as e:
        why = e.strerror or str(e)
    if why:
        say(f"grader: the cache {where} cannot be used ({why}): what it would keep is computed on every run, "
            "which costs time, never points")
        return None
    return where


def read(path: Path, fmt: str, key: Any) -> bytes | None:
    """The bytes kept at ``path`` for ``key`` (in format ``fmt``); None where there are none, or they were
    kept for another key (stale), or do not match their digest (refused, said once)."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return None
    except OSError as e:
        say(f"grader: {path}: cannot be read ({e.strerror or e}): computed instead")
        return None
    head, _, body = data.partition(b"\n")
    try:
        header = json.loads(head)
    except ValueError:
        header = None
    if not isinstance(header, dict) or header.get("format") != fmt:
        say(f"grader: {path}: refused (not a {fmt} entry): computed again")
        return None
    if header.get("key") != key:
        return None  # kept for other sources or versions: stale, not broken
    if header.get("sha256") != digest(key, body):
        say(f"grader: {path}: refused (its digest does not match its bytes): computed again")
        return None
    return body


def write(path: Path, fmt: str, key: Any, body: bytes) -> None:
    """Keep ``body`` at ``path`` for ``key``, replacing the file whole; a failure only costs time (said once)."""
    header = json.dumps({"format": fmt, "key": key, "sha256": digest(key, body)}, separators=(",", ":"))
    try:
        fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(header.encode() + b"\n" + body)
            os.replace(temporary, path)
        except BaseException:
            os.unlink(temporary)
            raise
    except OSError as e:
        say(f"grader: the cache in {path.parent} cannot be written ({e.strerror or e}): what it would keep is "
            "computed on every run, which costs time, never points")


def say(message: str) -> None:
    """``message`` on stderr, once per process."""
    with _saying:
        if message in _said:
            return
        _said.add(message)
    print(message, file=sys.stderr)


def digest(key: Any, body: bytes) -> str:
    return hashlib.sha256(json.dumps(key, sort_keys=True).encode() + b"\n" + body).hexdigest()


@functools.lru_cache(maxsize=None)
def tree_digest(root: str) -> str:
    """The digest of every file under ``root`` (its path and bytes), compiled caches left out; of the file
    itself where ``root`` is one."""
    base = Path(root)
    if base.is_file():
        return hashlib.sha256(base.read_bytes()).hexdigest()
    return files_digest(sorted(p for p in base.rglob("*") if p.is_file() and "__pycache__" not in p.parts), base)


def files_digest(files: list[Path], base: Path) -> str:
    """The digest of ``files``, in that order: each one's path relative to ``base`` and its bytes."""
    h = hashlib.sha256()
    for path in files:
        h.update(path.relative_to(base).as_posix().encode() + b"\0" + path.read_bytes() + b"\0")
    return h.hexdigest()


@functools.lru_cache(maxsize=1)
def versions() -> dict[str, str]:
    """Python's version and a digest of each library's version file (torch's names its build and commit),
    read without importing the library ("" for one that is not installed)."""
    found = {"python": sys.version}
    for name in LIBRARIES:
        spec = sys.modules[name].__spec__ if name in sys.modules else importlib.util.find_spec(name)
        where = (spec.submodule_search_locations or [None])[0] if spec else None
        files = [Path(where) / f for f in ("version.py", "__init__.py")] if where else []
        found[name] = next((tree_digest(str(f)) for f in files if f.is_file()), "")
    return found
