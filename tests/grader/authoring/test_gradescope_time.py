"""The Gradescope runner takes the submission's time from Gradescope's own metadata, outside what the student
uploads, and never grades a submission as on time when that metadata is there but cannot be read."""
from __future__ import annotations

import zipfile

import pytest

from grader import cli
from tests.helpers import run_autograder


def unpacked_autograder(tmp_path):
    """a01's Gradescope autograder, unpacked as Gradescope lays it out, with an empty submission folder."""
    bundle = tmp_path / "autograder.zip"
    assert cli.main(["gradescope-bundle", str(bundle), "--assignment", "a01"]) == 0
    root = tmp_path / "autograder"
    with zipfile.ZipFile(bundle) as z:
        z.extractall(root / "source")
    (root / "submission").mkdir()
    return root


@pytest.mark.parametrize("metadata, said", [
    ('{"created_at": "sometime"}', "submission_metadata.json: no readable created_at (ValueError"),
    ('{"id": 1}', "submission_metadata.json: no readable created_at (KeyError"),
    ('{"created_at": "2027-02-21T08:00:00"}', "has no time zone"),
    ("not json", "submission_metadata.json: no readable created_at (JSONDecodeError"),
])
def test_metadata_without_a_readable_time_fails_the_grading_saying_why(tmp_path, metadata, said):
    root = unpacked_autograder(tmp_path)
    (root / "submission" / "timestamp.txt").write_text("2027-01-01 10:00:00.000000 UTC")  # the student's: not read
    (root / "submission_metadata.json").write_text(metadata)
    data = run_autograder(root, timeout=300)
    assert data["score"] == 0 and data["tests"] == []
    assert data["output"].startswith("Your submission could not be graded: grader: submission_metadata.json")
    assert said in data["output"] and "so the submission's time is unknown" in data["output"]


def test_a_time_the_student_uploads_is_not_gradescope_s(solutions, tmp_path):
    """Gradescope's metadata says late; the student's own metadata and time file, uploaded with the work, say
    on time: the penalty follows Gradescope's."""
    root = unpacked_autograder(tmp_path)
    for f in solutions("a01_neurons").glob("*.py"):
        (root / "submission" / f.name).write_bytes(f.read_bytes())
    (root / "submission" / "submission_metadata.json").write_text('{"created_at": "2027-01-01T08:00:00+00:00"}')
    (root / "submission" / "timestamp.txt").write_text("2027-01-01 08:00:00.000000 UTC")
    (root / "submission_metadata.json").write_text('{"created_at": "2027-03-20T08:00:00.365935+00:00"}')
    data = run_autograder(root, timeout=600)
    (late,) = [t for t in data["tests"] if t["name"] == "a01_neurons: late penalty"]
    assert late["score"] < 0 and data["score"] < sum(t["max_score"] for t in data["tests"])
