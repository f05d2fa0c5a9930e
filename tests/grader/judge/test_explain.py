"""The own-forward note costs only failures: a correct submission is never asked for it, a failed
backward is asked once, for the case its message describes, and the note never changes a score."""
from __future__ import annotations

from pathlib import Path

from grader.judge.pipeline import OWN_GRADIENT_MAX_ELEMENTS, grade
from grader.quality.inprocess import InProcessRunner
from grader.results import DiagnosisKind as K
from grader.results import RunStatus
from grader.sandbox.runner import Request, Response
from tests.helpers import COURSE, seeded_bug

AID = "a02_mlp_backprop"


class Recording(InProcessRunner):
    """The in-process runner, remembering every batch of requests it was given."""

    def __init__(self) -> None:
        super().__init__()
        self.calls: list[list[Request]] = []

    def run(self, submission, assignment, requests, limits, budget=None):
        self.calls.append(list(requests))
        return super().run(submission, assignment, requests, limits, budget)


class Silent(Recording):
    """Answers the first run; every request of a later one times out."""

    def run(self, submission, assignment, requests, limits, budget=None):
        if self.calls:
            self.calls.append(list(requests))
            return {(r.task, r.case): Response(r.task, r.case, RunStatus.TIMEOUT, message="timed out")
                    for r in requests}
        return super().run(submission, assignment, requests, limits, budget)


def graded(folder: Path, runner: Recording):
    return {t.id: t for t in grade(folder, COURSE, [AID], suite="all", runner=runner).tasks()}


def test_a_correct_submission_is_run_once_and_never_asked_for_its_own_gradient(solutions):
    runner = Recording()
    tasks = graded(solutions(AID), runner)
    assert all(t.score == t.max_score for t in tasks.values())
    assert len(runner.calls) == 1 and not any(r.own_gradient for r in runner.calls[0])


def test_a_failed_backward_is_asked_once_for_the_case_its_message_describes(solutions, tmp_path):
    # tanh's backward with a sign error, on every case; tanh's forward is right.
    folder = seeded_bug(solutions(AID), tmp_path, "layers.py",
                        "    dx = dout * (1.0 - out * out)\n", "    dx = dout * (out * out - 1.0)\n")
    runner = Recording()
    tasks = graded(folder, runner)
    assert len(runner.calls) == 2
    again = runner.calls[1]
    failed = {t.id for t in tasks.values() if t.score < t.max_score}
    assert {r.task for r in again} <= failed and "a02.tanh_backward" in {r.task for r in again}
    assert all(r.own_gradient == OWN_GRADIENT_MAX_ELEMENTS for r in again)
    dx = tasks["a02.tanh_backward"].checks[0]
    first = next(r for r in again if r.task == "a02.tanh_backward")
    assert (dx.suite, dx.case) == ("public", first.case)  # the case the message is about
    assert K.BACKWARD in dx.kinds() and K.SIGN in dx.kinds(), dx.said

    # a second run that never answers (the student's forward hangs this time) costs the note only
    silent = Silent()
    quiet = graded(folder, silent)
    assert len(silent.calls) == 2
    assert {t.id: t.score for t in quiet.values()} == {t.id: t.score for t in tasks.values()}
    assert "own forward" not in quiet["a02.tanh_backward"].checks[0].message


def test_the_note_is_not_asked_for_when_the_failure_is_a_forward(solutions, tmp_path):
    folder = seeded_bug(solutions(AID), tmp_path, "layers.py",
                        "    out = torch.tanh(x)\n", "    out = torch.tanh(x) * 0.5\n")
    runner = Recording()
    tasks = graded(folder, runner)
    assert tasks["a02.tanh_forward"].score == 0
    asked = {r.task for call in runner.calls[1:] for r in call}
    assert "a02.tanh_forward" not in asked  # a forward task has no forward of its own to differentiate
    assert "a02.tanh_backward" in asked  # its cache comes from the wrong forward
