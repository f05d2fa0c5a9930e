"""The in-process runner on a submission folder: the run-time guard blames that folder's own lines."""
from __future__ import annotations

import pytest

from grader.judge.cases import make_cases
from grader.quality.inprocess import InProcessRunner
from grader.results import RunStatus
from grader.sandbox.runner import Request
from grader.tasks import suites
from tests.helpers import COURSE, grade_seeded_bugs

AID = "a02_mlp_backprop"


def test_a_banned_call_in_a_folder_submission_is_caught_while_it_runs(solutions):
    folder = solutions(AID)  # its tanh_forward calls torch.tanh, banned below
    task = suites.load(AID).tasks["a02.tanh_forward"]
    case = make_cases(COURSE, task, "public")[0]
    limits = {t.id: t.limits for t in COURSE.assignment(AID).tasks}
    banned = Request(task.id, 0, case.inputs, banned=("torch.tanh",), module="layers")
    allowed = Request(task.id, 0, case.inputs, module="layers")
    [caught] = InProcessRunner().run(folder, AID, [banned], limits).values()
    [ran] = InProcessRunner().run(folder, AID, [allowed], limits).values()
    assert caught.status == RunStatus.BANNED, caught
    assert "banned operation torch.tanh" in caught.message and "(layers.py line" in caught.message
    assert ran.status == RunStatus.OK


def test_seeded_bug_checks_fail_when_a_bug_is_blamed_on_the_wrong_task(solutions, tmp_path):
    """The helper every assignment's seeded-bug tests use can fail: a bug in a08's winner, said to be in
    kmeans, costs winner and its callers, which the helper reports."""
    bug = ("competitive.py", "    c = d2.argmin(dim=1)  # (N,)\n", "    c = d2.argmax(dim=1)  # (N,)\n")
    with pytest.raises(AssertionError, match="neither bugged nor calling a bugged task: .*'a08.winner'"):
        grade_seeded_bugs(solutions("a08_unsupervised"), tmp_path, [(*bug, "a08.kmeans")])
    grade_seeded_bugs(solutions("a08_unsupervised"), tmp_path, [(*bug, "a08.winner")])
