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
import tempfile
import zipfile
import zoneinfo
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Iterator

from grader.course.config import Course
from grader.results import GradingResult
from grader.judge.submission import open_submission

TIMESTAMP = "timestamp.txt"  # nbgrader's name for when a submission was handed in
# Where a time comes from, each outside what the student hands in.
OPTION = "option"                    # grader grade --submitted-at
NBGRADER = "nbgrader_collect"        # nbgrader's <student>/<assignment>/timestamp.txt in submitted/
GRADESCOPE = "gradescope_metadata"   # created_at of Gradescope's submission_metadata.json
FILE_TIME = "file_time"              # the entry's modification time in the instructor's copy
TIME_SOURCES = (OPTION, NBGRADER, GRADESCOPE, FILE_TIME)
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
    """When one assignment of a submission was handed in (None: no time), where that came from (one of
    :data:`TIME_SOURCES`) and, for people, the file or entry it was read from."""

    at: dt.datetime | None
    source: str
    where: str = ""

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
    """What a worker sends back for one job: the grading (a result of plain dataclasses, which pickle), or
    why there is none; never live objects."""

    student: str
    result: GradingResult | None = None  # the grading, when there is one
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
            names = " and ".join(_entry_name(e) for e in group)
            first = Entry(student, first.path, first.kind, f"{student} has {len(group)} submissions ({names}): "
                                                           "keep one")
        entries.append(first)
    return entries


def _entry_name(e: Entry) -> str:
    """How an entry of the submissions folder is named to the instructor: ``alice.zip``, ``alice/``."""
    return e.path.name + ("/" if e.kind == "folder" else "")


def prepare(entry: Entry, course: Course, ids: list[str], nbgrader: bool = False) -> Job:
    """The job for one entry: its content hash and each graded assignment's time (see
    :func:`submission_times`). Raises :class:`SubmissionError` for an entry that cannot be graded (a
    corrupt zip, nbgrader's timestamp.txt unreadable)."""
    if entry.problem:
        raise SubmissionError(entry.problem)
    if entry.kind == "zip" and not zipfile.is_zipfile(entry.path):
        raise SubmissionError(f"{entry.path.name} is not a readable .zip archive")
    try:
        digest = content_hash(entry.path)
        stamps = submission_times(entry, course, ids, nbgrader)
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


def submission_times(entry: Entry, course: Course, ids: list[str], nbgrader: bool = False) -> dict[str, Stamp]:
    """Each graded assignment's time, from where the student cannot write it. With ``nbgrader`` (the
    instructor says ``SUBMISSIONS`` is nbgrader's ``submitted/`` folder, filled by ``nbgrader
    collect``), a folder's ``<assignment>/timestamp.txt`` is that assignment's: nbgrader's submit
    writes it there after copying the student's files, over any file of that name, and collect
    copies it. Anything else (every ``timestamp.txt`` of a zip or of a folder not collected by
    nbgrader, and those elsewhere in a collected one) is the student's and never read: the time is
    then the entry's modification time as the instructor's copy has it (``file_time``)."""
    stamps = {}
    for aid in ids:
        stamp = _nbgrader_stamp(entry, aid) if nbgrader and entry.kind == "folder" else None
        stamps[aid] = stamp or _file_time(entry)
    return stamps


def _nbgrader_stamp(entry: Entry, aid: str) -> Stamp | None:
    """nbgrader's time of one assignment of a collected folder, or None where there is none (the
    assignment was not handed in through nbgrader's exchange)."""
    where = f"{entry.path.name}/{aid}/{TIMESTAMP}"
    p = entry.path / aid / TIMESTAMP
    if p.parent.is_symlink() or p.is_symlink() or (p.exists() and not p.is_file()):
        raise SubmissionError(f"{where} is not a regular file (a link is never followed), so nbgrader's time of "
                              f"{aid} is unknown")
    if not p.is_file():
        return None
    with open(p, "rb") as f:
        text = f.read(4096).decode("utf-8", "replace")
    return Stamp(parse_timestamp(text, where), NBGRADER, where)


def _file_time(entry: Entry) -> Stamp:
    """When the batch's copy of the entry was made or last changed: its own modification time."""
    mtime = entry.path.lstat().st_mtime
    at = dt.datetime.fromtimestamp(mtime, dt.timezone.utc).replace(microsecond=0)
    return Stamp(at, FILE_TIME, _entry_name(entry))


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
