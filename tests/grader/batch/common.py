"""What the batch tests share: a small class of a01 submissions with what each must score, the command, and a
look at /proc for processes a batch left behind."""
from __future__ import annotations

import datetime as dt
import os
import shutil
import sqlite3
import subprocess
import sys
import time
import zipfile
from dataclasses import dataclass
from pathlib import Path

import nbformat

from grader import paths
from grader.authoring.notebooks import build
from grader.course.policy import late_penalty
from grader.results import points
from tests.a01.test_grading import BUGS, GROUPS
from tests.helpers import COURSE, grade_folder, seeded_bugs

AID = "a01_neurons"
DEADLINE = COURSE.assignment(AID).deadline
ON_TIME = "2027-02-12 20:00:00.000000 UTC"  # nbgrader's format, before a01's deadline
LATE = "2027-02-14 12:00:00.000000 UTC"     # two started days after the deadline and its grace
LATE_ISO = "2027-02-13T09:00:00+01:00"       # one started day late, written with an offset
ZIP_TIME = dt.datetime(2027, 2, 10, 12, 0, tzinfo=dt.timezone.utc)  # a zip stored before the deadline


@dataclass
class Expected:
    tasks: dict[str, tuple[str, float]]  # task id -> (status, score)
    raw: float
    penalty: float                       # the late policy's fraction
    score: float


@dataclass
class Class:
    folder: Path
    expected: dict[str, Expected]        # by student


def make_class(root: Path, solutions: Path, skeleton: Path) -> Class:
    """Eight a01 submissions, every kind and way of telling the time, each with what it must score: the
    solutions, the skeleton and seeded bugs, graded in process (the course's own code, whose results
    the sandbox must reproduce). Each entry's time is its modification time: a timestamp.txt the
    student hands in (alice's, bob's, erin's, grace's in her zip) is never read."""
    folder = root / "class"
    folder.mkdir()
    bugs = [seeded_bugs(solutions, root / f"bugs{g}", [BUGS[n][:3] for n in GROUPS[g]]) for g in range(3)]
    graded = {name: grade_folder(f, sandboxed=False) for name, f in
              [("solutions", solutions), ("skeleton", skeleton)] + [(f"bugs{g}", b) for g, b in enumerate(bugs)]}
    expected: dict[str, Expected] = {}

    def add(student: str, variant: str, submitted: dt.datetime | None) -> None:
        a = graded[variant].assignments[0]
        penalty = late_penalty(COURSE.late_policy, DEADLINE, submitted)
        expected[student] = Expected({t.id: (str(t.status), t.score) for t in a.tasks}, a.raw_score, penalty,
                                     points(a.raw_score * (1 - penalty)))

    shutil.copytree(solutions, folder / "alice" / AID)  # nbgrader's layout, not collected by nbgrader
    (folder / "alice" / AID / "timestamp.txt").write_text(LATE)
    _stored(folder / "alice", _utc(ON_TIME))
    add("alice", "solutions", _utc(ON_TIME))
    shutil.copytree(solutions, folder / "bob" / AID)
    (folder / "bob" / "timestamp.txt").write_text(ON_TIME)
    _stored(folder / "bob", _utc(LATE))
    add("bob", "solutions", _utc(LATE))
    shutil.copytree(skeleton, folder / "carol")  # a01's files at the top
    _stored(folder / "carol", ZIP_TIME)
    add("carol", "skeleton", ZIP_TIME)
    _zip(bugs[0], folder / "dave.zip", {})
    os.utime(folder / "dave.zip", (ZIP_TIME.timestamp(), ZIP_TIME.timestamp()))
    add("dave", "bugs0", ZIP_TIME)
    shutil.copytree(bugs[1], folder / "erin" / AID)
    _stored(folder / "erin", dt.datetime.fromisoformat(LATE_ISO))
    add("erin", "bugs1", dt.datetime.fromisoformat(LATE_ISO))
    nbformat.write(build(COURSE, AID, paths.REFERENCE / AID), str(folder / "frank.ipynb"))  # the solutions, notebook
    late_file = dt.datetime(2027, 2, 20, tzinfo=dt.timezone.utc)
    os.utime(folder / "frank.ipynb", (late_file.timestamp(), late_file.timestamp()))
    add("frank", "solutions", late_file)
    _zip(solutions, folder / "grace.zip", {"timestamp.txt": ON_TIME})  # late, with an on-time time of her own
    _stored(folder / "grace.zip", _utc(LATE))
    add("grace", "solutions", _utc(LATE))
    shutil.copytree(bugs[2], folder / "heidi" / AID)
    _stored(folder / "heidi", ZIP_TIME)
    add("heidi", "bugs2", ZIP_TIME)
    return Class(folder, expected)


def _stored(path: Path, when: dt.datetime) -> None:
    """Set an entry's modification time, as the instructor's copy keeps it (its last change to the entry)."""
    os.utime(path, (when.timestamp(), when.timestamp()))


def _utc(nbgrader_time: str) -> dt.datetime:
    return dt.datetime.fromisoformat(nbgrader_time.removesuffix(" UTC")).replace(tzinfo=dt.timezone.utc)


def _zip(assignment: Path, archive: Path, extra: dict[str, str]) -> None:
    """A zip with one top folder holding the assignment's folder (as an LMS download often has)."""
    with zipfile.ZipFile(archive, "w") as z:
        for p in sorted(assignment.rglob("*")):
            if p.is_file() and "__pycache__" not in p.parts:
                z.write(p, f"work/{AID}/{p.relative_to(assignment).as_posix()}")
        for name, text in extra.items():
            z.writestr(f"work/{name}", text)


WAITING_TASK = "a01.hopfield_weights"  # the only task that calls hopfield_weights, and a01's last but two
WAIT_S = 3600                          # how long it waits, and its time limit in course_with_a_long_wait


def waiting_submission(solutions: Path, student: Path) -> Path:
    """``student``'s a01 folder: the solutions, whose ``hopfield_weights`` sleeps for WAIT_S seconds before it
    answers, a grading that cannot finish while a test looks (and costs no CPU meanwhile), so that a batch
    holding it is provably mid-way. Stored before the deadline; :func:`stop_waiting` makes it the solutions."""
    shutil.copytree(solutions, student / AID)
    module = student / AID / "hopfield.py"
    source = module.read_text()
    head = "def hopfield_weights(patterns: Tensor) -> Tensor:\n"
    docstring_end = source.index('    """\n', source.index(head) + len(head)) + len('    """\n')
    module.write_text(source[:docstring_end] + f"    import time\n    time.sleep({WAIT_S})\n" + source[docstring_end:])
    _stored(student, ZIP_TIME)
    return student


def stop_waiting(solutions: Path, student: Path) -> None:
    """Make a :func:`waiting_submission` the solutions (as a student would resubmit), stored before the deadline."""
    shutil.copy2(solutions / "hopfield.py", student / AID / "hopfield.py")
    _stored(student, ZIP_TIME)


def course_with_a_long_wait(dest: Path) -> Path:
    """course.yaml with WAITING_TASK's time limit raised to WAIT_S: a waiting submission's grading then ends
    only with its assignment's budget (course.yaml's ``budgets.assignment_s``), or when it is killed."""
    text = paths.COURSE.read_text()
    start = f"{{id: {WAITING_TASK}, "
    assert text.count(start) == 1, start
    dest.write_text(text.replace(start, f"{start}limits: {{time_s: {WAIT_S}}}, "))
    return dest


def batch_command(submissions: Path, gradebook: Path, *args: str, course: Path | None = None) -> list[str]:
    chosen = ["--course", str(course)] if course else []
    return [sys.executable, "-m", "grader", *chosen, "batch", str(submissions), "--gradebook", str(gradebook), *args]


def batch_env(tmp: Path) -> dict[str, str]:
    """The environment of a batch whose every temporary folder, the sandboxes' included, is under ``tmp``:
    each sandboxed process names its folder on its command line, which is how :func:`leftovers` finds it."""
    tmp.mkdir(parents=True, exist_ok=True)
    return {**os.environ, "TMPDIR": str(tmp)}


def run_batch(submissions: Path, gradebook: Path, tmp: Path, *args: str, course: Path | None = None,
              timeout: float = 600) -> subprocess.CompletedProcess:
    return subprocess.run(batch_command(submissions, gradebook, *args, course=course), capture_output=True, text=True,
                          cwd=paths.ROOT, env=batch_env(tmp), timeout=timeout, start_new_session=True)


def leftovers(session: int | None, marker: str, wait_s: float = 60.0) -> list[str]:
    """Processes still running in ``session`` (the batch's own, its workers') or whose command line names
    ``marker`` (the batch's temporary folder: every sandboxed child names it), after giving them
    ``wait_s`` to go (the kernel tears a PID namespace down asynchronously, and a fork bomb's thousands of
    processes take a while on a loaded machine; a clean batch costs no wait)."""
    deadline = time.monotonic() + wait_s
    while True:
        found = []
        for entry in os.listdir("/proc"):
            if not entry.isdigit() or int(entry) == os.getpid():
                continue
            try:
                stat = Path(f"/proc/{entry}/stat").read_text()
                cmdline = Path(f"/proc/{entry}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            except OSError:
                continue
            fields = stat[stat.rindex(")") + 2:].split()
            if fields[0] == "Z":
                continue  # a zombie runs nothing; its parent (not ours) has yet to reap it
            if (session is not None and int(fields[3]) == session) or marker in cmdline:
                found.append(f"{entry}: {cmdline[:160]}")
        if not found or time.monotonic() > deadline:
            return found
        time.sleep(0.1)


def assert_graded_as_expected(gradebook: Path, expected: dict[str, Expected]) -> None:
    """One row per student and task, none twice, each with its status and score; each submission's raw
    score, late penalty and final score."""
    tasks = {t.id for t in COURSE.assignment(AID).tasks}
    db = sqlite3.connect(gradebook)
    try:
        rows = db.execute("SELECT student, assignment, task, status, score FROM grades").fetchall()
        scores = {s: (raw, penalty, score) for s, raw, penalty, score in db.execute(
            "SELECT student, raw_score, late_penalty, score FROM submissions WHERE status = 'graded'")}
    finally:
        db.close()
    assert len(rows) == len(expected) * len(tasks)
    got: dict[str, dict[str, tuple[str, float]]] = {}
    for student, assignment, task, status, score in rows:
        assert assignment == AID
        got.setdefault(student, {})[task] = (status, score)
    assert {s: set(t) for s, t in got.items()} == {s: tasks for s in expected}
    for student, e in expected.items():
        assert got[student] == e.tasks, student
    assert scores == {s: (e.raw, e.penalty, e.score) for s, e in expected.items()}
