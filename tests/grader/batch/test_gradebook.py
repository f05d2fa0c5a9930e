"""The gradebook: a row per student, assignment and task, written one submission per transaction, read back for
resuming and for the CSV export; what a batch skips, grades again, and refuses."""
from __future__ import annotations

import dataclasses
import datetime as dt
import shutil
import sqlite3

import pytest

from grader import cli
from grader.batch import run
from grader.batch.gradebook import Gradebook, Key
from grader.batch.jobs import BatchError, Job, Outcome, Stamp
from grader.results import AssignmentResult, GradingResult, Status, TaskResult
from tests.helpers import COURSE

A01 = "a01_neurons"
KEY = Key("deepgrade 0.1.0 code abc course def", "public", "cpu")
WHEN = Stamp(dt.datetime(2027, 2, 14, 12, tzinfo=dt.timezone.utc), "nbgrader_collect",
             "alice/a01_neurons/timestamp.txt")


def job(student: str, content: str = "sha256:1", stamp: Stamp = WHEN) -> Job:
    return Job(student, student, "folder", content, {A01: stamp}, path=f"/class/{student}")


def graded(student: str, scores: dict[str, float], penalty: float = 0.2) -> Outcome:
    tasks = [TaskResult(t, s, 2.0, Status.PASSED if s == 2.0 else Status.FAILED) for t, s in scores.items()]
    raw = sum(scores.values())
    a = AssignmentResult(A01, round(raw * (1 - penalty), 4), 2.0 * len(tasks), tasks, late_penalty=penalty)
    result = GradingResult(a.score, a.max_score, [a], "public", "cpu", student, graded_at="2027-02-20T10:00:00+00:00")
    return Outcome(student, result, seconds=1.5, worker="host:1")


def test_a_grading_is_its_rows_and_a_rerun_skips_it_until_something_it_depends_on_changes(tmp_path):
    with Gradebook(tmp_path / "grades.sqlite") as book:
        book.record(job("alice"), graded("alice", {"a01.x": 2.0, "a01.y": 1.0}), [A01], KEY)
        [row] = book.submissions()
        assert (row["student"], row["status"], row["raw_score"], row["late_penalty"], row["score"],
                row["max_score"]) == ("alice", "graded", 3.0, 0.2, 2.4, 4.0)
        assert (row["submitted_at"], row["time_source"]) == ("2027-02-14T12:00:00+00:00", "nbgrader_collect")
        assert [(g["task"], g["score"], g["status"]) for g in book.grades()] == \
            [("a01.x", 2.0, "passed"), ("a01.y", 1.0, "failed")]
        assert book.is_graded(job("alice"), [A01], KEY)
        late = book.gradings()[0]["alice"].late  # what the export and reports read: the time and its source
        assert (late.submitted_at, late.time_source) == ("2027-02-14T12:00:00+00:00", "nbgrader_collect")
        assert not book.is_graded(job("alice", content="sha256:2"), [A01], KEY)  # handed in again
        assert not book.is_graded(job("alice", stamp=Stamp(None, "none")), [A01], KEY)  # another time
        for other in (dataclasses.replace(KEY, grader_version="deepgrade 0.1.1"),
                      dataclasses.replace(KEY, suite="all"), dataclasses.replace(KEY, device="cuda")):
            assert not book.is_graded(job("alice"), [A01], other)
        assert not book.is_graded(job("alice"), [A01, "a02_mlp_backprop"], KEY)  # an assignment not graded yet
        assert not book.is_graded(job("bob"), [A01], KEY)


def test_a_new_grading_replaces_the_old_rows_and_a_failure_keeps_none(tmp_path):
    with Gradebook(tmp_path / "grades.sqlite") as book:
        book.record(job("alice"), graded("alice", {"a01.x": 2.0, "a01.y": 1.0}), [A01], KEY)
        book.record(job("alice", "sha256:2"), graded("alice", {"a01.x": 2.0, "a01.y": 2.0}, 0.0), [A01], KEY)
        assert [(r["content_hash"], r["score"]) for r in book.submissions()] == [("sha256:2", 4.0)]
        assert len(book.grades()) == 2
        book.record(job("alice", "sha256:3"), Outcome("alice", error="alice.zip is not a readable .zip archive"),
                    [A01], KEY)
        [row] = book.submissions()
        assert (row["status"], row["error"], row["score"]) == ("failed", "alice.zip is not a readable .zip archive",
                                                               None)
        assert book.grades() == []
        assert not book.is_graded(job("alice", "sha256:3"), [A01], KEY)  # a failure is tried again next time


def test_a_submission_is_recorded_whole_or_not_at_all(tmp_path):
    with Gradebook(tmp_path / "grades.sqlite") as book:
        book.record(job("alice"), graded("alice", {"a01.x": 2.0}), [A01], KEY)
        broken = graded("alice", {"a01.x": 1.0, "a01.y": 1.0})
        broken.result.assignments[0].tasks[1].id = "a01.x"  # the same task twice: the second row fails
        with pytest.raises(sqlite3.IntegrityError):
            book.record(job("alice", "sha256:2"), broken, [A01], KEY)
        assert [(r["content_hash"], r["score"]) for r in book.submissions()] == [("sha256:1", 1.6)]
        assert [(g["task"], g["score"]) for g in book.grades()] == [("a01.x", 2.0)]


def test_a_file_that_is_not_a_gradebook_is_refused(tmp_path):
    (tmp_path / "notes.sqlite").write_text("not a database, just notes")
    with pytest.raises(BatchError, match="not a gradebook"):
        Gradebook(tmp_path / "notes.sqlite")
    other = sqlite3.connect(tmp_path / "other.sqlite")
    other.execute("CREATE TABLE students (name TEXT)")
    other.close()
    with pytest.raises(BatchError, match="not a gradebook of this grader"):
        Gradebook(tmp_path / "other.sqlite")
    with pytest.raises(BatchError, match="no such gradebook"):
        Gradebook(tmp_path / "missing.sqlite", create=False)
    assert not (tmp_path / "missing.sqlite").exists()
    with Gradebook(tmp_path / "new.sqlite") as book:
        assert book.db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_export_writes_the_lms_csv_and_names_what_failed(tmp_path, capsys):
    path = tmp_path / "grades.sqlite"
    with Gradebook(path) as book:
        book.record(job("alice"), graded("alice", {"a01.x": 2.0, "a01.y": 1.0}), [A01], KEY)
        book.record(job("bob"), graded("bob", {"a01.x": 2.0, "a01.y": 2.0}, 0.0), [A01], KEY)
        book.record(job("carol"), Outcome("carol", error="carol.txt is not a folder, a .zip or a notebook (.ipynb)"),
                    [A01], KEY)
    assert cli.main(["export", str(path)]) == 1  # a row without a score: the exit code says so
    out, err = capsys.readouterr()
    assert out == ("student,assignment,status,raw score,late penalty,final score,max score,reason\n"
                   "alice,a01_neurons,graded,3,0.6,2.4,4,\nbob,a01_neurons,graded,4,0,4,4,\n"
                   'carol,a01_neurons,not graded,,,,,"grading_failed: carol.txt is not a folder, a .zip or a '
                   'notebook (.ipynb)"\n')
    assert err == "grader: not graded (a row without a score): carol a01_neurons: carol.txt is not a folder, a .zip " \
                  "or a notebook (.ipynb)\n"
    assert cli.main(["export", str(tmp_path / "missing.sqlite")]) == 2


def test_the_plan_skips_what_is_graded_and_records_what_cannot_be(tmp_path):
    folder = tmp_path / "class"
    for student in ("alice", "bob"):
        (folder / student / A01).mkdir(parents=True)
        (folder / student / A01 / "units.py").write_text(f"# {student}\n")
    (folder / "carol.zip").write_text("not a zip")
    settings = run.settle(COURSE, [A01], "public", "cpu", "local")
    with Gradebook(tmp_path / "grades.sqlite") as book:
        first = run.plan(folder, settings, book)
        assert [j.student for j in first.todo] == ["alice", "bob"] and first.skipped == []
        assert first.failed == [("carol", "carol.zip is not a readable .zip archive")]
        assert first.times == {"file_time": 2}  # each folder at its modification time
        alice = first.todo[0]
        book.record(alice, graded("alice", {"a01.x": 2.0}, 0.0), [A01], run.key(settings))
        again = run.plan(folder, settings, book)
        assert [j.student for j in again.todo] == ["bob"] and again.skipped == ["alice"]
        assert [j.student for j in run.plan(folder, settings, book, force=True).todo] == ["alice", "bob"]
        (folder / "alice" / A01 / "units.py").write_text("# alice, second try\n")
        assert [j.student for j in run.plan(folder, settings, book).todo] == ["alice", "bob"]
        assert [(r["student"], r["status"]) for r in book.submissions()] == [("alice", "graded"),
                                                                               ("carol", "failed")]


@pytest.mark.parametrize("assignments, device, message", [
    (["a99"], "cpu", "unknown assignment 'a99'"),
    ([A01], "auto", "needs --device cpu or cuda"),
])
def test_settings_are_checked_before_anything_is_graded(assignments, device, message):
    with pytest.raises(BatchError, match=message):
        run.settle(COURSE, assignments, "public", device, "dask")


def test_the_plan_takes_nbgrader_s_times_only_when_told_and_fails_one_it_cannot_read(tmp_path):
    folder = tmp_path / "submitted"
    for student in ("alice", "bob", "carol"):
        (folder / student / A01).mkdir(parents=True)
        (folder / student / A01 / "units.py").write_text(f"# {student}\n")
    (folder / "alice" / A01 / "timestamp.txt").write_text("2027-02-10 10:00:00.000000 UTC")
    (folder / "carol" / A01 / "timestamp.txt").write_text("yesterday")
    settings = run.settle(COURSE, [A01], "public", "cpu", "local")
    with Gradebook(tmp_path / "grades.sqlite") as book:
        files = run.plan(folder, settings, book)
        assert files.times == {"file_time": 3} and files.failed == []
        told = run.plan(folder, settings, book, nbgrader=True)
        assert told.times == {"nbgrader_collect": 1, "file_time": 1}  # bob handed nothing in through nbgrader
        assert told.failed == [("carol", "carol/a01_neurons/timestamp.txt: cannot read the time 'yesterday' "
                                         "(expected nbgrader's '2027-02-16 10:00:00.000000 UTC' or ISO 8601 with "
                                         "a zone)")]
        [alice] = [j for j in told.todo if j.student == "alice"]
        assert alice.stamps[A01] == Stamp(dt.datetime(2027, 2, 10, 10, tzinfo=dt.timezone.utc), "nbgrader_collect",
                                          "alice/a01_neurons/timestamp.txt")


def test_a_notebook_that_does_not_read_is_not_graded_anywhere_and_never_a_zero(solutions, tmp_path, capsys):
    """A truncated notebook beside an honest folder: the gradebook says failed with the reason and holds
    no score, the summary names it, the batch and the export exit 1, the CSV row has a reason, no score."""
    folder = tmp_path / "class"
    shutil.copytree(solutions(A01), folder / "ana" / A01)
    (folder / "ben").mkdir()
    (folder / "ben" / f"{A01}.ipynb").write_text('{"cells": [{"cell_type": "code", "source": "%%writefile')
    book = tmp_path / "grades.sqlite"
    assert cli.main(["batch", str(folder), "--gradebook", str(book), "--assignment", A01, "-q"]) == 1
    summary = capsys.readouterr().out
    assert "ben: a01_neurons: notebook_unreadable:" in summary and "cannot be read" in summary
    with sqlite3.connect(book) as db:
        rows = {r[0]: r[1:] for r in db.execute("SELECT student, status, score, error FROM submissions")}
        assert db.execute("SELECT COUNT(*) FROM grades WHERE student = 'ben'").fetchone()[0] == 0
    assert rows["ana"][:2] == ("graded", COURSE.assignment(A01).max_score)
    assert rows["ben"][:2] == ("failed", None) and rows["ben"][2].startswith("notebook_unreadable: ")
    assert cli.main(["export", str(book)]) == 1
    out = capsys.readouterr().out.splitlines()
    ben = next(line for line in out if line.startswith("ben,"))
    assert ben.startswith(f"ben,{A01},not graded,,,,") and "notebook_unreadable" in ben


def test_a_batch_of_a_folder_that_is_not_there_creates_nothing(tmp_path, capsys):
    book = tmp_path / "grades.sqlite"
    assert cli.main(["batch", str(tmp_path / "clas"), "--gradebook", str(book), "-q"]) == 2
    assert "clas: no such folder" in capsys.readouterr().err and not book.exists()


def test_the_summary_gives_each_assignments_scores_mean_median_and_spread(solutions, skeletons, tmp_path, capsys):
    folder = tmp_path / "class"
    for student in ("ana", "ben"):
        shutil.copytree(solutions(A01), folder / student / A01)
    shutil.copytree(skeletons(A01), folder / "cy" / A01)
    top = COURSE.assignment(A01).max_score
    assert cli.main(["batch", str(folder), "--gradebook", str(tmp_path / "g.sqlite"), "--assignment", A01]) == 0
    out = capsys.readouterr().out
    line = next(line for line in out.splitlines() if line.startswith(f"{A01}: "))
    assert f"3 graded submissions in the gradebook, mean {2 * top / 3:.2f} / {top:g}, median {top:g}" in line
    assert "0-20%: 1" in line and "80-100%: 2" in line
