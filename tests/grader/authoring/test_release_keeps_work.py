"""Release never overwrites a student's work without --force; its sync check never tells a student to."""
from __future__ import annotations

import pytest

from grader import cli, paths
from grader.authoring.release import WorkWouldBeLost, edited, release

AID = "a02_mlp_backprop"
STUB = 'raise NotImplementedError("a02.affine_forward")'
WORK = "out = x @ w + b  # mine"


@pytest.fixture
def released(tmp_path):
    """A fresh release of every assignment, as a student receives it."""
    out = tmp_path / "assignments"
    assert cli.main(["release", "--out", str(out)]) == 0
    return out


def implement(out):
    layers = out / AID / "layers.py"
    layers.write_text(layers.read_text().replace(STUB, WORK))
    return layers


def test_an_implemented_stub_is_not_overwritten_without_force(released, capsys):
    layers = implement(released)
    mine = layers.read_text()
    capsys.readouterr()
    assert cli.main(["release", "--out", str(released)]) == 2
    err = capsys.readouterr().err
    assert f"{AID}/layers.py: a02.affine_forward implemented" in err and "nothing was written" in err
    assert "--force" in err
    assert layers.read_text() == mine
    assert cli.main(["release", "--out", str(released), "--force"]) == 0
    assert STUB in layers.read_text() and WORK not in layers.read_text()


def test_an_untouched_skeleton_is_regenerated_when_the_reference_changed(released):
    mlp = released / AID / "mlp.py"  # an older skeleton: the reference's text has changed since
    skeleton = mlp.read_text()
    mlp.write_text(skeleton.replace('"""', '"""An older docstring. ', 1))
    (released / AID / "__pycache__").mkdir(exist_ok=True)
    (released / AID / "__pycache__" / "mlp.cpython-311.pyc").write_bytes(b"\0")
    assert edited(paths.REFERENCE, released, [AID]) == []
    release(paths.REFERENCE, released, [AID])
    assert mlp.read_text() == skeleton


def test_a_function_new_in_the_reference_is_not_taken_for_work(released):
    layers = released / AID / "layers.py"
    text = layers.read_text()
    start = text.index("def affine_forward(")
    layers.write_text(text[:start] + text[text.index("\ndef ", start + 1) + 1:])  # an older skeleton without it
    assert edited(paths.REFERENCE, released, [AID]) == []


def test_files_release_did_not_write_and_files_that_do_not_parse_are_kept(released):
    (released / AID / "notes.py").write_text("x = 1\n")
    (released / AID / "mlp.py").write_text("def mlp_forward(:\n")
    with pytest.raises(WorkWouldBeLost) as e:
        release(paths.REFERENCE, released, [AID])
    assert e.value.edits == [f"{AID}/mlp.py: does not parse (line 1), so it is taken for work in progress",
                             f"{AID}/notes.py: not generated from reference/, release would delete it"]
    assert (released / AID / "notes.py").read_text() == "x = 1\n"


def test_the_sync_check_tells_a_student_their_work_is_safe_and_an_author_how_to_sync(released, monkeypatch,
                                                                                     capsys):
    monkeypatch.setattr(paths, "ASSIGNMENTS", released)
    capsys.readouterr()
    implement(released)
    assert cli.main(["release", "--check"]) == 1
    err = capsys.readouterr().err
    assert f"out of date: assignments/{AID}/layers.py" in err
    assert "they are safe" in err and "python3 dev.py pytest assignments/<id>" in err
    assert "--force" not in err and "grader release`" not in err

    release(paths.REFERENCE, released, [AID], force=True)  # the work gone; now only the reference moved on
    mlp = released / AID / "mlp.py"
    mlp.write_text(mlp.read_text() + "\n# older\n")
    assert cli.main(["release", "--check"]) == 1
    err = capsys.readouterr().err
    assert "Course authors: regenerate it with `grader release`." in err and "--force" not in err
