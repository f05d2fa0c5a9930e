"""``grader watch``: the student's loop, warm. Save a file, see the public tests' verdicts a moment later.

One process imports torch, the grader and the reference once, and keeps the sandbox's fork
server (:mod:`grader.sandbox.warm`) for its whole life; every time the assignment's files
change it grades the public suite again, sandboxed exactly as ``pytest`` and ``grader grade``
do, and prints each task's verdict with its diagnosis. What a regrade costs is the grading
itself: no interpreter, no torch import, no cold child.
"""
from __future__ import annotations

import time
from pathlib import Path
from typing import Callable

from grader.course.config import Course
from grader.i18n import _
from grader.judge.cases import GradingError, remember_expected
from grader.judge.pipeline import grade
from grader.reports.text import regrade_lines
from grader.sandbox.session import runner_for


def fingerprint(folder: Path) -> tuple:
    """What a regrade depends on: each Python file's name, size and modification time (cheap to poll)."""
    found = []
    for p in sorted(folder.rglob("*.py")):
        try:
            st = p.stat()
        except OSError:
            continue  # removed while we looked: the next poll sees the folder as it is
        found.append((str(p.relative_to(folder)), st.st_size, st.st_mtime_ns))
    return tuple(found)


def watch(folder: Path, course: Course, assignment: str | None = None, tasks: set[str] | None = None,
          interval: float = 0.2, runs: int | None = None, out: Callable[[str], None] = print) -> int:
    """Grade ``folder`` now and after every change, until interrupted (or after ``runs`` gradings)."""
    folder = folder.resolve()
    if not folder.is_dir():
        raise GradingError(_("no such folder: {path}", path=folder))
    aid = assignment or folder.name
    try:
        course.assignment(aid)
    except KeyError:
        raise GradingError(_("{name} is not an assignment of the course: name it with --assignment ID",
                             name=folder.name)) from None
    runner = runner_for("cpu")
    remember_expected()  # the reference runs once per task, not once per save
    seen: tuple | None = None
    done = 0
    try:
        while runs is None or done < runs:
            now = fingerprint(folder)
            if now == seen:
                time.sleep(interval)
                continue
            seen = now
            started = time.monotonic()
            result = grade(folder, course, [aid], suite="public", device="cpu", runner=runner, tasks=tasks)
            out("\n".join(regrade_lines(result, time.monotonic() - started)))
            done += 1
            if runs is None or done < runs:
                out(_("watching {name}/ for changes (Ctrl-C to stop)", name=folder.name))
    except KeyboardInterrupt:
        pass
    return 0
