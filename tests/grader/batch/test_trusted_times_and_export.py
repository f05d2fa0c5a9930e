"""A late zip cannot cancel its own penalty with a time file inside it, and names a spreadsheet would run are
exported as text: both through ``grader batch`` and ``grader export``, as an instructor runs them."""
from __future__ import annotations

import csv
import datetime as dt
import io
import json
import os
import sqlite3
import zipfile

from grader import cli
from grader.batch.gradebook import Gradebook
from grader.course.policy import late_penalty
from grader.reports import render
from tests.grader.batch.common import AID, DEADLINE, LATE, ON_TIME, run_batch
from tests.helpers import COURSE

LATE_AT = dt.datetime.fromisoformat(LATE.removesuffix(" UTC")).replace(tzinfo=dt.timezone.utc)
HOSTILE = ["=2+5+cmd|' -C calc'!A0", "-1", "+1", "@SUM(1+1)", "\tindented"]  # each a student's folder


def zipped(assignment, archive, stamp: str | None):
    """The assignment in a zip's top folder, with the student's own nbgrader-format time file or none, stored
    (its modification time, as the instructor's copy keeps it) after the deadline."""
    with zipfile.ZipFile(archive, "w") as z:
        for p in sorted(assignment.rglob("*.py")):
            z.write(p, f"work/{AID}/{p.relative_to(assignment).as_posix()}")
        if stamp is not None:
            z.writestr("work/timestamp.txt", stamp)
            z.writestr(f"work/{AID}/timestamp.txt", stamp)
    os.utime(archive, (LATE_AT.timestamp(), LATE_AT.timestamp()))


def test_a_late_zip_is_late_with_or_without_its_own_time_and_hostile_names_export_as_text(
        solutions, skeletons, tmp_path, short_tmp, capsys):
    folder = tmp_path / "class"
    folder.mkdir()
    zipped(solutions(AID), folder / "stamped.zip", ON_TIME)
    zipped(solutions(AID), folder / "plain.zip", None)
    for name in HOSTILE:
        (folder / name).mkdir()
        for p in skeletons(AID).glob("*.py"):
            (folder / name / p.name).write_bytes(p.read_bytes())
    gradebook = tmp_path / "grades.sqlite"
    r = run_batch(folder, gradebook, short_tmp, "--jobs", "2", "--assignment", AID, "-q", timeout=900)
    assert r.returncode == 0, r.stdout + r.stderr[-3000:]
    n = len(HOSTILE) + 2
    assert f"graded {n} of {n} submissions" in r.stdout
    assert f"submission times from: file_time ({n} assignments)" in r.stdout

    db = sqlite3.connect(gradebook)
    try:
        rows = {s: rest for s, *rest in db.execute(
            "SELECT student, submitted_at, time_source, raw_score, late_penalty, score FROM submissions")}
    finally:
        db.close()
    penalty = late_penalty(COURSE.late_policy, DEADLINE, LATE_AT)
    assert penalty > 0
    maximum = COURSE.assignment(AID).max_score
    for student in ("stamped", "plain"):  # the time file inside the zip changes nothing
        assert rows[student] == [LATE_AT.isoformat(), "file_time", maximum, penalty,
                                 round(maximum * (1 - penalty), 4)], student

    out = tmp_path / "grades.csv"
    assert cli.main(["export", str(gradebook), "--output", str(out)]) == 0
    cells = list(csv.reader(io.StringIO(out.read_text(encoding="utf-8"))))
    by_student = {row[0]: row for row in cells[1:]}
    assert set(by_student) == {"'" + name for name in HOSTILE} | {"stamped", "plain"}
    for row in cells[1:]:
        assert not row[0].startswith(("=", "+", "-", "@", "\t")) and row[1] == AID
        assert row[2] == "graded" and row[7] == ""
        for number in row[3:7]:
            float(number)  # the scores stay numbers, never quoted text
    assert by_student["'-1"][3:7] == ["0", "0", "0", "23"]  # the maximum of the tasks graded
    assert by_student["stamped"][4] == by_student["plain"][4] != "0"

    # the same gradings as a folder of STUDENT.json results, the other way into the export
    with Gradebook(gradebook, create=False) as book:
        gradings, _ = book.gradings()
    results = tmp_path / "results"
    results.mkdir()
    for student, grading in gradings.items():
        (results / f"{student}.json").write_text(render(grading, "json"), encoding="utf-8")
        assert grading.late.time_source == "file_time"
    assert cli.main(["export", str(results)]) == 0
    exported = list(csv.reader(io.StringIO(capsys.readouterr().out)))
    assert exported == cells


def test_grade_says_which_time_it_used_and_where_it_came_from(skeletons, tmp_path, capsys):
    report = tmp_path / "alice.json"
    assert cli.main(["grade", str(skeletons(AID)), "--assignment", AID, "-q", "--submitted-at", LATE_AT.isoformat(),
                     "--time-source", "gradescope_metadata", "--format", "json", "--output", str(report)]) == 0
    late = json.loads(report.read_text(encoding="utf-8"))["late"]
    assert late == {"submitted_at": LATE_AT.isoformat(), "time_source": "gradescope_metadata"}
    assert cli.main(["grade", str(skeletons(AID)), "--assignment", AID, "-q", "--submitted-at", LATE_AT.isoformat(),
                     "--format", "text"]) == 0
    assert f"submitted at {LATE_AT.isoformat()} (time from option)" in capsys.readouterr().out
    assert cli.main(["grade", str(skeletons(AID)), "--time-source", "gradescope_metadata"]) == 2
    assert "--time-source says where --submitted-at was read" in capsys.readouterr().err
