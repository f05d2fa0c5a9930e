"""The declared misconceptions: each is a well-formed edit of its task's solution, and a submission that makes
it is told so, in its words and with its kind."""
from __future__ import annotations

import pytest

from grader import paths
from grader.authoring.release import solution_blocks
from grader.quality.misconceptions import DECLARED, Misconception
from tests.helpers import grade_folder, seeded_bugs

IDS = [f"{m.task}:{m.kind.value}:{i}" for i, m in enumerate(DECLARED)]


@pytest.mark.parametrize("m", DECLARED, ids=IDS)
def test_a_misconception_edits_its_own_tasks_solution_once(m: Misconception):
    source = (paths.REFERENCE / m.aid / m.file).read_text(encoding="utf-8")
    assert source.count(m.old) == 1 and m.old != m.new and not m.kind.is_location
    line = source.count("\n", 0, source.index(m.old)) + 1
    blocks = [b for b in solution_blocks(source, m.task.split(".")[0], m.file) if b.task == m.task]
    assert any(b.start + 1 < line < b.end + 1 for b in blocks), f"{m.old!r} is not in {m.task}'s solution block"
    assert m.old not in m.words and m.new not in m.words  # the words name the mistake, never the code


@pytest.mark.parametrize("m", DECLARED, ids=IDS)
def test_a_submission_that_makes_it_is_told_in_its_words(m: Misconception, solutions, tmp_path):
    folder = seeded_bugs(solutions(m.aid), tmp_path, [(m.file, m.old, m.new)])
    task = next(t for t in grade_folder(folder, suite="all", sandboxed=False).assignments[0].tasks if t.id == m.task)
    failed = [c for c in task.checks if not c.passed]
    assert failed, f"{m.words}: {m.task} passed"
    told = [d for c in failed for d in c.diagnoses if d.kind == m.kind and d.text == m.words]
    assert told, [(c.name, [(d.kind.value, d.text) for d in c.diagnoses]) for c in failed]


def test_a_misconception_whose_edit_no_longer_applies_is_left_out_not_a_crash(monkeypatch):
    from grader.quality import misconceptions
    first = DECLARED[0]
    stale = Misconception(first.task, first.file, "a line the reference does not have", "x", first.kind, first.words)
    monkeypatch.setattr(misconceptions, "DECLARED", (stale, first))
    prefix = first.task.split(".")[0]
    found = misconceptions.mutants_in(prefix, first.file, first.file.removesuffix(".py"))
    assert [m.description for m in found] == [first.words]
    with pytest.raises(ValueError, match="not once"):
        misconceptions.as_mutant(stale, first.file.removesuffix(".py"))
