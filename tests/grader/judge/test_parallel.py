"""Assignments graded at once (grade(..., jobs=N)): the same report, in course order."""
from __future__ import annotations

import shutil
import threading

from grader.judge.pipeline import grade
from grader.sandbox import host
from tests.helpers import COURSE, comparable

IDS = ["a01_neurons", "a03_neuroevolution", "a13_graphs"]


class CountingRunner(host.SandboxRunner):
    """The sandbox, noting how many assignments it runs at the same time; with ``meet``, the first
    ``meet`` runs wait for each other (so that they overlap, however fast each one is)."""

    def __init__(self, meet: int = 0):
        super().__init__("cpu", host.detect("cpu"))
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
