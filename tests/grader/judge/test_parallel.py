"""Assignments graded at once (grade(..., jobs=N)): the same report, in course order."""
from __future__ import annotations

import shutil
import threading

from grader.judge.pipeline import grade
from grader.sandbox import levels, session
from tests.helpers import COURSE, comparable

IDS = ["a01_neurons", "a03_neuroevolution", "a13_graphs"]


class CountingRunner(session.SandboxRunner):
    """The sandbox, noting how many assignments it runs at the same time; with ``meet``, the first
    ``meet`` runs wait for each other (so that they overlap, however fast each one is)."""

    def __init__(self, meet: int = 0):
        super().__init__("cpu", levels.detect("cpu"))
        self.now = self.most = self.calls = 0
        self.lock = threading.Lock()
        self.meet = threading.Barrier(meet, timeout=120) if meet else None

    def run(self, *args, **kwargs):
        with self.lock:
            self.calls += 1
            waits = self.meet is not None and self.calls <= self.meet.parties
        if waits:
            self.meet.wait()
        with self.lock:
            self.now += 1
            self.most = max(self.most, self.now)
        try:
            return super().run(*args, **kwargs)
        finally:
            with self.lock:
                self.now -= 1


def test_assignments_graded_at_once_give_the_same_report(solutions, tmp_path):
    course_folder = tmp_path / "course"
    course_folder.mkdir()
    for aid in IDS:
        shutil.copytree(solutions(aid), course_folder / aid)
    one, two = CountingRunner(), CountingRunner(meet=2)
    alone = grade(course_folder, COURSE, IDS, suite="all", runner=one)
    together = grade(course_folder, COURSE, IDS, suite="all", runner=two, jobs=2)
    assert comparable(alone.to_dict()) == comparable(together.to_dict())
    assert [a.id for a in together.assignments] == IDS
    assert together.score == together.max_score > 0
    assert one.most == 1 and two.most == 2


def test_remembered_expected_values_are_computed_once_and_grade_the_same(solutions, monkeypatch):
    from grader import cache
    from grader.judge import cases
    from grader.quality.inprocess import InProcessRunner
    aid = "a01_neurons"
    calls = []
    real = cases.expected_outputs
    monkeypatch.setattr(cases, "expected_outputs", lambda *a: calls.append(a[0].id) or real(*a))
    monkeypatch.setattr(cases, "_remembered", None)
    monkeypatch.setattr(cache, "folder", lambda: None)  # this process's memory alone
    fresh = grade(solutions(aid), COURSE, [aid], suite="all", runner=InProcessRunner())
    computed = len(calls)
    cases.remember_expected()
    first = grade(solutions(aid), COURSE, [aid], suite="all", runner=InProcessRunner())
    again = grade(solutions(aid), COURSE, [aid], suite="all", runner=InProcessRunner())
    assert computed > 0 and len(calls) == 2 * computed  # once without remembering, once to remember
    public = grade(solutions(aid), COURSE, [aid], suite="public", runner=InProcessRunner())
    assert len(calls) == 2 * computed  # the public suite's cases are those "all" planned first: remembered too
    for result in (first, again):
        assert comparable(result.to_dict()) == comparable(fresh.to_dict())
    assert public.score == public.max_score
