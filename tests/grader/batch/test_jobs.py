"""A class's submissions read before grading: what each entry is, its content hash, its time; the bytes a
remote worker gets back as the same submission."""
from __future__ import annotations

import datetime as dt
import os
import re
import shutil
import zipfile

import pytest

from grader.batch import jobs
from grader.batch.jobs import BatchError, Entry, SubmissionError, parse_timestamp
from tests.helpers import COURSE

A01, A02 = "a01_neurons", "a02_mlp_backprop"
UTC = dt.timezone.utc


def test_every_entry_is_a_student_and_what_cannot_be_graded_says_why(tmp_path):
    (tmp_path / "alice").mkdir()
    (tmp_path / "bob.zip").write_bytes(b"")
    (tmp_path / "carol.ipynb").write_text("{}")
    (tmp_path / "dave.txt").write_text("my homework")
    (tmp_path / "erin").symlink_to(tmp_path / "alice")
    (tmp_path / "frank").mkdir()
    (tmp_path / "frank.zip").write_bytes(b"")
    (tmp_path / ".DS_Store").write_text("")
    (tmp_path / "__MACOSX").mkdir()
    found = {e.student: e for e in jobs.discover(tmp_path)}
    assert sorted(found) == ["alice", "bob", "carol", "dave", "erin", "frank"]
    assert [found[s].kind for s in ("alice", "bob", "carol")] == ["folder", "zip", "notebook"]
    assert not any(found[s].problem for s in ("alice", "bob", "carol"))
    assert found["dave"].problem == "dave.txt is not a folder, a .zip or a notebook (.ipynb)"
    assert found["erin"].problem == "erin is a symbolic link, never followed"
    assert found["frank"].problem == "frank has 2 submissions (frank/ and frank.zip): keep one"
    with pytest.raises(SubmissionError, match="keep one"):
        jobs.prepare(found["frank"], COURSE, [A01])


def test_an_empty_or_missing_folder_stops_the_batch(tmp_path):
    with pytest.raises(BatchError, match="no submissions in it"):
        jobs.discover(tmp_path)
    with pytest.raises(BatchError, match="no such folder"):
        jobs.discover(tmp_path / "missing")


@pytest.mark.parametrize("text, expected", [
    ("2027-02-16 10:00:00.000000 UTC", dt.datetime(2027, 2, 16, 10, tzinfo=UTC)),  # nbgrader's default
    ("2027-02-16 10:00:00.000000 GMT\n", dt.datetime(2027, 2, 16, 10, tzinfo=UTC)),
    ("2027-02-16 10:00:00.000000 +0100", dt.datetime(2027, 2, 16, 9, tzinfo=UTC)),
    ("2027-02-16 10:00:00 -05:30", dt.datetime(2027, 2, 16, 15, 30, tzinfo=UTC)),
    ("2027-02-16 10:00:00.000000 Europe/Berlin", dt.datetime(2027, 2, 16, 9, tzinfo=UTC)),
    ("2027-07-16 10:00:00.000000 Europe/Berlin", dt.datetime(2027, 7, 16, 8, tzinfo=UTC)),  # summer time
    ("2027-02-16T10:00:00+02:00", dt.datetime(2027, 2, 16, 8, tzinfo=UTC)),
    ("2027-02-16 10:00:00.000000", dt.datetime(2027, 2, 16, 10, tzinfo=UTC)),  # no zone: UTC, as nbgrader reads it
])
def test_timestamps_are_read_as_nbgrader_writes_them(text, expected):
    assert parse_timestamp(text, "timestamp.txt") == expected


@pytest.mark.parametrize("text, message", [
    ("", "timestamp.txt is empty"),
    ("yesterday", "cannot read the time 'yesterday'"),
    ("2027-02-16 10:00:00.000000 CEST", "unknown time zone 'CEST'"),
    ("2027-02-30 10:00:00.000000 UTC", "cannot read the time"),
])
def test_a_timestamp_that_cannot_be_read_is_an_error_not_a_time(text, message):
    with pytest.raises(SubmissionError, match=message):
        parse_timestamp(text, "timestamp.txt")


def folder_entry(path):
    return Entry(path.name, path, "folder")


def stored(path, when):
    """Give an entry the modification time the instructor's copy would have."""
    os.utime(path, (when.timestamp(), when.timestamp()), follow_symlinks=False)


ON_TIME = "2027-02-10 10:00:00.000000 UTC"  # nbgrader's format, before every deadline
LATE = dt.datetime(2027, 3, 20, 10, tzinfo=UTC)


def test_a_time_file_the_student_hands_in_is_never_read(tmp_path):
    alice = tmp_path / "alice"
    (alice / A01).mkdir(parents=True)
    (alice / A02).mkdir()
    for where in (alice / A01, alice / A02, alice):
        (where / "timestamp.txt").write_text(ON_TIME)
    stored(alice, LATE)
    stamps = jobs.submission_times(folder_entry(alice), COURSE, [A01, A02])
    assert stamps == {aid: jobs.Stamp(LATE, jobs.FILE_TIME, "alice/") for aid in (A01, A02)}
    archive = tmp_path / "carol.zip"
    with zipfile.ZipFile(archive, "w") as z:
        z.writestr(f"carol/{A01}/units.py", "")
        z.writestr(f"carol/{A01}/timestamp.txt", ON_TIME)
        z.writestr("carol/timestamp.txt", ON_TIME)
        z.writestr("timestamp.txt", "not even a time")  # not read, so no error either
    stored(archive, LATE)
    for nbgrader in (False, True):  # a zip is the student's, even in nbgrader's folder
        assert jobs.prepare(jobs.Entry("carol", archive, "zip"), COURSE, [A01], nbgrader).stamps == \
            {A01: jobs.Stamp(LATE, jobs.FILE_TIME, "carol.zip")}
    notebook = tmp_path / "dave.ipynb"
    notebook.write_text("{}")
    stored(notebook, LATE)
    assert jobs.submission_times(Entry("dave", notebook, "notebook"), COURSE, [A01])[A01] == \
        jobs.Stamp(LATE, jobs.FILE_TIME, "dave.ipynb")


def test_nbgrader_collected_folders_take_each_assignments_time_from_where_nbgrader_writes_it(tmp_path):
    # nbgrader's submit copies the student's folder into the exchange, then writes timestamp.txt in it
    # (over any file of that name); collect copies it to submitted/<student>/<assignment>/.
    alice = tmp_path / "submitted" / "alice"
    (alice / A01).mkdir(parents=True)
    (alice / A02).mkdir()
    (alice / A01 / "timestamp.txt").write_text(ON_TIME)
    (alice / "timestamp.txt").write_text("2027-02-01 10:00:00.000000 UTC")  # not nbgrader's place: not read
    stored(alice, LATE)
    stamps = jobs.submission_times(folder_entry(alice), COURSE, [A01, A02], nbgrader=True)
    assert stamps[A01] == jobs.Stamp(dt.datetime(2027, 2, 10, 10, tzinfo=UTC), jobs.NBGRADER,
                                     f"alice/{A01}/timestamp.txt")
    assert stamps[A02] == jobs.Stamp(LATE, jobs.FILE_TIME, "alice/")  # not handed in through nbgrader: collected
    assert jobs.submission_times(folder_entry(alice), COURSE, [A01])[A01].source == jobs.FILE_TIME  # not said


@pytest.mark.parametrize("make, message", [
    (lambda p: p.write_text("the day before the deadline"),
     "alice/a01_neurons/timestamp.txt: cannot read the time 'the day before the deadline'"),
    (lambda p: p.write_text(""), "alice/a01_neurons/timestamp.txt is empty"),
    (lambda p: p.write_text("2027-02-16 10:00:00 Mars/Olympus"), "unknown time zone 'Mars/Olympus'"),
    (lambda p: p.symlink_to(p.parent.parent), "alice/a01_neurons/timestamp.txt is not a regular file"),
    (lambda p: p.mkdir(), "alice/a01_neurons/timestamp.txt is not a regular file"),
    (lambda p: (p.parent.rename(p.parent.with_name("elsewhere")), p.parent.symlink_to("elsewhere"),
                p.write_text("2027-02-10 10:00:00.000000 UTC")), "alice/a01_neurons/timestamp.txt is not a regular"),
])
def test_nbgrader_time_that_cannot_be_read_fails_the_submission(tmp_path, make, message):
    alice = tmp_path / "alice"
    (alice / A01).mkdir(parents=True)
    make(alice / A01 / "timestamp.txt")
    with pytest.raises(SubmissionError, match=re.escape(message)):
        jobs.prepare(folder_entry(alice), COURSE, [A01], nbgrader=True)
    assert jobs.prepare(folder_entry(alice), COURSE, [A01]).stamps[A01].source == jobs.FILE_TIME  # not nbgrader's


def test_a_zip_that_is_not_one_fails_the_submission(tmp_path):
    archive = tmp_path / "carol.zip"
    archive.write_bytes(b"PK\x03\x04 broken")
    with pytest.raises(SubmissionError, match="carol.zip is not a readable .zip archive"):
        jobs.prepare(Entry("carol", archive, "zip"), COURSE, [A01])


def test_the_content_hash_follows_the_content_and_nothing_else(tmp_path):
    a = tmp_path / "a"
    (a / A01).mkdir(parents=True)
    (a / A01 / "units.py").write_text("x = 1\n")
    first = jobs.content_hash(a)
    b = tmp_path / "b"
    shutil.copytree(a, b)
    (b / A01 / "__pycache__").mkdir()
    (b / A01 / "__pycache__" / "units.cpython-311.pyc").write_bytes(b"\0")
    assert jobs.content_hash(b) == first  # another place, Python's cache: the same submission
    (b / A01 / "units.py").write_text("x = 2\n")
    assert jobs.content_hash(b) != first
    (b / A01 / "units.py").write_text("x = 1\n")
    (b / A01 / "rules.py").symlink_to(tmp_path / "elsewhere.py")
    assert jobs.content_hash(b) != first
    (b / A01 / "rules.py").unlink()
    (b / "timestamp.txt").write_text("2027-02-16 10:00:00.000000 UTC")
    assert jobs.content_hash(b) != first


def test_a_job_sent_as_bytes_is_the_same_submission_on_the_other_side(tmp_path):
    alice = tmp_path / "alice"
    (alice / A01 / "empty").mkdir(parents=True)
    (alice / A01 / "units.py").write_text("x = 1\n")
    (alice / "timestamp.txt").write_text("2027-02-16 10:00:00.000000 UTC")
    job = jobs.prepare(folder_entry(alice), COURSE, [A01])
    packed = jobs.pack(job)
    assert packed.path is None and packed.payload and packed.stamps == job.stamps
    with jobs.opened(packed) as there:
        assert there.name == "alice" and there != alice
        assert jobs.content_hash(there) == job.content_hash
    archive = tmp_path / "bob.zip"
    shutil.make_archive(str(tmp_path / "bob"), "zip", alice)
    zipped = jobs.prepare(Entry("bob", archive, "zip"), COURSE, [A01])
    with jobs.opened(jobs.pack(zipped)) as there:
        assert there.name == "bob.zip" and there.read_bytes() == archive.read_bytes()
    with jobs.opened(job) as here:
        assert here == alice  # on the coordinator's machine the submission is graded where it is
