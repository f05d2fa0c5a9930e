"""A class's submissions: finding them, what each one is (its content hash, its time), and what a worker grades.

``SUBMISSIONS`` holds one entry per student, named by the student's id: a folder, a ``.zip`` or
a notebook (``.ipynb``), each graded as ``grader grade`` grades it. The coordinator reads each
entry once, to hash it and to find when it was handed in. Nothing here runs a submission's code.
"""
from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import io
import os
import re
import stat
import tempfile
import zipfile
import zoneinfo
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any, Iterator

from grader.course.config import Course
from grader.judge.submission import open_submission

TIMESTAMP = "timestamp.txt"  # nbgrader's name for when a submission was collected
STAMP_DEPTH = 3              # timestamp.txt is looked for at a submission's top and two folders down
SKIPPED = {"__MACOSX", "__pycache__", ".ipynb_checkpoints"}
OFFSET = re.compile(r"([+-])(\d\d):?(\d\d)")  # +0100, -05:00


class SubmissionError(Exception):
    """One submission cannot be graded (what it is, its time): recorded for it, the batch goes on."""


class BatchError(Exception):
    """The batch cannot run at all (no such folder, no submission in it)."""


@dataclass(frozen=True)
class Entry:
    """One student's entry in ``SUBMISSIONS``: ``kind`` is folder, zip, notebook, or why it is none of them."""

    student: str
    path: Path
    kind: str
    problem: str = ""  # set when the entry cannot be graded at all


@dataclass(frozen=True)
class Stamp:
    """When one assignment of a submission was handed in (None: no time found), and where that came from."""

    at: dt.datetime | None
    source: str

    @property
    def iso(self) -> str | None:
        return self.at.isoformat() if self.at is not None else None


@dataclass(frozen=True)
class Job:
    """What a worker needs to grade one submission: where it is (``path``, on the coordinator's machine)
    or its bytes (``payload``, for a worker on another machine), and each assignment's time."""

    student: str
    name: str           # the entry's name in SUBMISSIONS (alice, bob.zip, carol.ipynb)
    kind: str
    content_hash: str
    stamps: dict[str, Stamp] = field(default_factory=dict)  # assignment id -> its time
    path: str | None = None
    payload: bytes | None = None


@dataclass
class Outcome:
    """What a worker sends back for one job: plain data (the grading as ``GradingResult.to_dict()``, or
    why there is none), never live objects."""

    student: str
    result: dict[str, Any] | None = None  # the grading, when there is one
    error: str = ""        # why it was not graded, in one line
    detail: str = ""       # the traceback, when grading raised
    seconds: float = 0.0   # wall time in the worker
    worker: str = ""       # host:pid
    peak_mb: float = 0.0   # the worker process's peak resident memory so far (MiB)

    @property
    def graded(self) -> bool:
        return self.result is not None


def discover(folder: Path) -> list[Entry]:
    """Every entry of ``folder`` by student id; hidden files are not submissions. An entry that is not
    a folder, a .zip or a notebook, and two entries of one student, are kept with their problem."""
    if not folder.is_dir():
        raise BatchError(f"{folder}: no such folder")
    found: list[Entry] = []
    for p in sorted(folder.iterdir()):
        if p.name.startswith(".") or p.name in SKIPPED:
            continue
        if p.is_symlink():
            found.append(Entry(p.name, p, "link", f"{p.name} is a symbolic link, never followed"))
        elif p.is_dir():
            found.append(Entry(p.name, p, "folder"))
        elif p.suffix == ".zip":
            found.append(Entry(p.stem, p, "zip"))
        elif p.suffix == ".ipynb":
            found.append(Entry(p.stem, p, "notebook"))
        else:
            found.append(Entry(p.stem or p.name, p, "other",
                               f"{p.name} is not a folder, a .zip or a notebook (.ipynb)"))
    if not found:
        raise BatchError(f"{folder}: no submissions in it (expected a folder, .zip or .ipynb per student)")
    by_student: dict[str, list[Entry]] = {}
    for e in found:
        by_student.setdefault(e.student, []).append(e)
    entries = []
    for student, group in by_student.items():
        first = group[0]
        if len(group) > 1:  # which one is meant is the instructor's call, not the grader's
            names = " and ".join(_shown(e) for e in group)
            first = Entry(student, first.path, first.kind, f"{student} has {len(group)} submissions ({names}): "
                                                           "keep one")
        entries.append(first)
    return entries


def _shown(e: Entry) -> str:
    return e.path.name + ("/" if e.kind == "folder" else "")


def prepare(entry: Entry, course: Course, ids: list[str]) -> Job:
    """The job for one entry: its content hash and each graded assignment's time. Raises
    :class:`SubmissionError` for an entry that cannot be graded (a corrupt zip, a bad timestamp.txt)."""
    if entry.problem:
        raise SubmissionError(entry.problem)
    if entry.kind == "zip" and not zipfile.is_zipfile(entry.path):
        raise SubmissionError(f"{entry.path.name} is not a readable .zip archive")
    try:
        digest = content_hash(entry.path)
        stamps = submission_times(entry, course, ids)
    except SubmissionError:
        raise
    except Exception as e:  # unreadable, truncated, encrypted, an unknown compression: one student's problem
        raise SubmissionError(f"{entry.path.name} cannot be read ({type(e).__name__}: {e})") from None
    return Job(entry.student, entry.path.name, entry.kind, digest, stamps, path=str(entry.path))


def content_hash(path: Path) -> str:
    """SHA-256 of everything a grading reads: a file's bytes, or a folder's tree (names, regular files'
    bytes, links' targets; Python's ``__pycache__`` left out, since Python writes it on its own)."""
    h = hashlib.sha256()
    if not path.is_dir():
        with open(path, "rb") as f:
            for block in iter(lambda: f.read(1 << 20), b""):
                h.update(block)
        return "sha256:" + h.hexdigest()
    for here, dirs, files in os.walk(path):
        dirs[:] = sorted(d for d in dirs if d != "__pycache__")
        base = Path(here)
        for name in sorted(files) + [d for d in dirs if (base / d).is_symlink()]:
            p = base / name
            rel = p.relative_to(path).as_posix()
            if p.is_symlink():
                h.update(b"L" + rel.encode() + b"\0" + os.readlink(p).encode() + b"\0")
            elif p.is_file():
                h.update(b"F" + rel.encode() + b"\0" + str(p.stat().st_size).encode() + b"\0")
                with open(p, "rb") as f:
                    for block in iter(lambda: f.read(1 << 20), b""):
                        h.update(block)
        h.update(b"D" + base.relative_to(path).as_posix().encode() + b"\0")
    return "sha256:" + h.hexdigest()


# When a submission was handed in.

def parse_timestamp(text: str, where: str) -> dt.datetime:
    """A time with its zone, as nbgrader writes it (``2027-02-16 10:00:00.000000 UTC``, its default
    ``%Y-%m-%d %H:%M:%S.%f %Z``) or ISO 8601 (``2027-02-16T10:00:00+01:00``). As in nbgrader's
    ``parse_utc``, a time without a zone is UTC; a zone is UTC, GMT, Z, an offset (``+0100``,
    ``+01:00``) or a tz database name (``Europe/Berlin``). Anything else raises :class:`SubmissionError`."""
    s = text.strip()
    if not s:
        raise SubmissionError(f"{where} is empty")
    try:
        at = dt.datetime.fromisoformat(s)
        return at if at.tzinfo is not None else at.replace(tzinfo=dt.timezone.utc)
    except ValueError:
        pass
    parts = s.split()
    if len(parts) == 3:
        try:
            at = dt.datetime.fromisoformat(f"{parts[0]} {parts[1]}")
        except ValueError:
            at = None
        if at is not None and at.tzinfo is None:
            return at.replace(tzinfo=_zone(parts[2], where))
    raise SubmissionError(f"{where}: cannot read the time {s[:60]!r} (expected nbgrader's "
                          f"'2027-02-16 10:00:00.000000 UTC' or ISO 8601 with a zone)")


def _zone(name: str, where: str) -> dt.tzinfo:
    if name.upper() in ("UTC", "GMT", "Z"):
        return dt.timezone.utc
    offset = OFFSET.fullmatch(name)
    if offset:
        sign = -1 if offset[1] == "-" else 1
        return dt.timezone(sign * dt.timedelta(hours=int(offset[2]), minutes=int(offset[3])))
    try:
        return zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise SubmissionError(f"{where}: unknown time zone {name!r} (write the zone as UTC, an offset such as "
                              f"+02:00, or a tz database name such as Europe/Berlin)") from None


def submission_times(entry: Entry, course: Course, ids: list[str]) -> dict[str, Stamp]:
    """Each graded assignment's time. A ``timestamp.txt`` in the assignment's own folder (nbgrader's
    ``submitted/<student>/<assignment>/``) is that assignment's; one at the top, or in a folder
    that is no assignment's (a zip's top folder), is every assignment's. Without one, a .zip or a
    notebook was handed in at its file's modification time (set where it was stored, not by the
    student's clock); a folder has no time (no late penalty, as ``grader grade`` without
    ``--submitted-at``). timestamp.txt files that disagree for one assignment are an error."""
    assignment_ids = {a.id for a in course.assignments}
    found = _timestamp_files(entry)
    stamps = {}
    for aid in ids:
        own = [(where, text) for where, text in found if PurePosixPath(where).parent.name == aid]
        shared = [(where, text) for where, text in found if PurePosixPath(where).parent.name not in assignment_ids]
        chosen = own or shared
        times = {where: parse_timestamp(text, f"{entry.path.name}/{where}") for where, text in chosen}
        if len(set(times.values())) > 1:
            raise SubmissionError(f"{entry.path.name}: timestamp.txt files disagree for {aid}: "
                                  + ", ".join(f"{w} says {t.isoformat()}" for w, t in times.items()))
        if times:
            where, at = next(iter(times.items()))
            stamps[aid] = Stamp(at, where)
        elif entry.kind in ("zip", "notebook"):
            mtime = dt.datetime.fromtimestamp(entry.path.stat().st_mtime, dt.timezone.utc).replace(microsecond=0)
            stamps[aid] = Stamp(mtime, f"modification time of {entry.path.name}")
        else:
            stamps[aid] = Stamp(None, "none")
    return stamps


def _timestamp_files(entry: Entry) -> list[tuple[str, str]]:
    """(path inside the submission, text) of every timestamp.txt up to two folders down."""
    if entry.kind == "zip":
        found = []
        with zipfile.ZipFile(entry.path) as z:
            for m in z.infolist():
                name = PurePosixPath(m.filename)
                if name.name == TIMESTAMP and len(name.parts) <= STAMP_DEPTH and "__MACOSX" not in name.parts:
                    kind = stat.S_IFMT(m.external_attr >> 16)
                    if kind and kind != stat.S_IFREG:
                        raise SubmissionError(f"{entry.path.name}: {name} is not a regular file")
                    found.append((name.as_posix(), z.read(m)[:4096].decode("utf-8", "replace")))
        return found
    if entry.kind != "folder":
        return []
    found = []
    for depth in range(STAMP_DEPTH):
        for p in sorted(entry.path.glob("/".join(["*"] * depth + [TIMESTAMP]))):
            if any(part in SKIPPED for part in p.relative_to(entry.path).parts):
                continue
            if p.is_symlink() or not p.is_file():
                raise SubmissionError(f"{entry.path.name}: {p.relative_to(entry.path)} is not a regular file "
                                      f"(a link is never followed)")
            with open(p, "rb") as f:
                found.append((p.relative_to(entry.path).as_posix(), f.read(4096).decode("utf-8", "replace")))
    return found


# What a worker grades.

def pack(job: Job) -> Job:
    """The job with its submission's bytes, for a worker on another machine: a file as it is, a folder
    as a zip of its regular files (links are never followed, so they are left out)."""
    path = Path(job.path or "")
    if job.kind != "folder":
        return Job(job.student, job.name, job.kind, job.content_hash, job.stamps, payload=path.read_bytes())
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        for here, dirs, files in os.walk(path):
            dirs[:] = sorted(d for d in dirs if d != "__pycache__" and not (Path(here) / d).is_symlink())
            for name in sorted(files):
                p = Path(here) / name
                if p.is_file() and not p.is_symlink():
                    z.write(p, PurePosixPath(job.name, p.relative_to(path).as_posix()).as_posix())
            for d in dirs:
                z.writestr(PurePosixPath(job.name, (Path(here) / d).relative_to(path).as_posix()).as_posix() + "/",
                           b"")
    return Job(job.student, job.name, job.kind, job.content_hash, job.stamps, payload=buf.getvalue())


@contextlib.contextmanager
def opened(job: Job) -> Iterator[Path]:
    """The path ``grade()`` reads for this job, for as long as the block runs: the submission itself, or,
    for a job that carries its bytes, a copy of it unpacked here under the entry's own name."""
    if job.payload is None:
        yield Path(job.path or "")
        return
    with tempfile.TemporaryDirectory(prefix="batch-") as tmp:
        if job.kind != "folder":
            (Path(tmp) / job.name).write_bytes(job.payload)
            yield Path(tmp) / job.name
            return
        archive = Path(tmp) / "folder.zip"
        archive.write_bytes(job.payload)
        with open_submission(archive, [], False) as unpacked:  # regular files only, inside it
            folder = unpacked.root / job.name
            folder.mkdir(exist_ok=True)  # an empty folder zips to nothing
            yield folder
