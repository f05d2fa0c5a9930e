"""Grading a02 end to end: full marks for the solutions, zero for the skeleton, seeded bugs, bad input."""
from __future__ import annotations

import dataclasses
import json
import shutil
from pathlib import Path

import pytest

from grader import paths
from grader.reports.json import render as to_json
from grader.reports.text import render as to_text
from grader.sandbox.session import runner_for
from tests.helpers import COURSE, comparable, grade_folder, lost_tasks, seeded_bug, task_scores

AID = "a02_mlp_backprop"


def test_skeleton_stubs_say_which_task_they_wait_for(graded_skeletons):
    result = graded_skeletons(AID)
    assert result.score == 0 and result.max_score == 30
    tasks = result.assignments[0].tasks
    assert {t.status for t in tasks} == {"not_implemented"}
    by_id = {t.id: t for t in tasks}
    assert by_id["a02.affine_forward"].checks[0].message == "not implemented yet"
    # a backward task that cannot run its forward says which stub stopped it
    assert "waits for a02.affine_forward" in by_id["a02.affine_backward"].checks[0].message


BUGS = {
    "transposed weight gradient": (
        "layers.py", "    dw = x.T @ dout  # (D, M)\n", "    dw = dout.T @ x  # (D, M)\n",
        {"a02.affine_backward", "a02.mlp_backward"}, "dw: shape"),
    "missing bias gradient": (
        "layers.py", "    db = dout.sum(dim=0)  # (M,)\n", "    db = torch.zeros_like(b)  # (M,)\n",
        {"a02.affine_backward", "a02.mlp_backward"}, "db:"),
    "sign error in an activation derivative": (
        "layers.py", "    dx = dout * out * (1.0 - out)\n", "    dx = -dout * out * (1.0 - out)\n",
        {"a02.sigmoid_backward", "a02.mlp_backward"}, "dx:"),
    "softmax normalised over the wrong axis": (
        "layers.py", "torch.logsumexp(shifted, dim=1, keepdim=True)", "torch.logsumexp(shifted, dim=0, keepdim=True)",
        {"a02.softmax_cross_entropy"}, "loss:"),
    "layers of the MLP backward left in reverse order": (
        "mlp.py", "    grads.reverse()\n", "",
        {"a02.mlp_backward"}, "dW1:"),
    "SGD updates the parameters in place": (
        "mlp.py", "(w - lr * dw, b - lr * db)", "(w.sub_(lr * dw), b.sub_(lr * db))",
        {"a02.sgd_step"}, "inputs_unchanged"),
}


@pytest.mark.parametrize("bug", list(BUGS))
def test_seeded_bug_loses_only_the_affected_tasks(bug, solutions, tmp_path):
    file, old, new, affected, tensor = BUGS[bug]
    result = grade_folder(seeded_bug(solutions(AID), tmp_path, file, old, new), sandboxed=False)
    assert lost_tasks(result) == affected
    tasks = {t.id: t for t in result.assignments[0].tasks}
    first = sorted(affected)[0] if len(affected) == 1 else next(a for a in sorted(affected) if a != "a02.mlp_backward")
    messages = " ".join(c.said for c in tasks[first].checks if not c.passed)
    assert tensor in messages
    assert tasks[first].status == "failed" and 0 <= tasks[first].score < tasks[first].max_score
    if "a02.mlp_backward" in affected and first != "a02.mlp_backward":
        dependent = " ".join(c.said for c in tasks["a02.mlp_backward"].checks if not c.passed)
        assert f"it calls {first}" in dependent or first in dependent


def test_diagnosis_tells_forward_from_backward_and_checks_own_gradient(solutions, tmp_path):
    # A wrong forward with a backward that is right for the reference: the backward task's
    # diagnosis says the backward matches the student's own forward, so look at the forward.
    folder = seeded_bug(solutions(AID), tmp_path, "layers.py",
                        "    out = torch.tanh(x)\n", "    out = torch.tanh(x) * 0.5\n")
    tasks = {t.id: t for t in grade_folder(folder).assignments[0].tasks}
    assert tasks["a02.tanh_forward"].checks[0].message.startswith("forward:")
    assert tasks["a02.tanh_backward"].status == "failed"
    back = tasks["a02.tanh_backward"].checks[0].said
    assert back.startswith("backward:")
    assert "it calls a02.tanh_forward" in back
    # The sign bug gives a backward that is not the gradient of the student's own forward.
    folder = seeded_bug(solutions(AID), tmp_path, "layers.py",
                        "    dx = dout * (1.0 - out * out)\n", "    dx = dout * (out * out - 1.0)\n")
    tasks = {t.id: t for t in grade_folder(folder).assignments[0].tasks}
    assert "does not match the gradient of your own forward" in tasks["a02.tanh_backward"].checks[0].said


def replace_function(folder: Path, file: str, name: str, new_body: str) -> None:
    """Replace the body of ``def name`` in ``file`` (up to the next top-level def) with ``new_body``."""
    path = folder / file
    lines = path.read_text().splitlines(keepends=True)
    start = next(i for i, line in enumerate(lines) if line.startswith(f"def {name}("))
    end = next((i for i in range(start + 1, len(lines)) if lines[i].startswith("def ")), len(lines))
    path.write_text("".join(lines[:start]) + new_body.strip("\n") + "\n\n\n" + "".join(lines[end:]))


BAD = {
    "sigmoid_forward": ("def sigmoid_forward(x):\n    out = 1 / (1 + torch.exp(-x))\n    return out.tolist(), out\n",
                        "failed", "expected a torch.Tensor, got a list"),
    "tanh_forward": ("def tanh_forward(x):\n    out = torch.tanh(x)\n    return out.numpy(), out\n",
                     "failed", "got a numpy.ndarray"),
    "relu_forward": ("def relu_forward(x):\n    return torch.clamp(x, min=0).float(), x\n",
                     "failed", "dtype float32, expected float64"),
    "softplus_forward": ("class Sneaky(torch.Tensor):\n    def __eq__(self, other):\n        return True\n\n\n"
                         "def softplus_forward(x):\n    return torch.zeros_like(x).as_subclass(Sneaky), x\n",
                         "failed", "torch.Tensor subclass"),
    "leaky_relu_forward": ("def leaky_relu_forward(x, slope=0.01):\n    out = torch.where(x > 0, x, slope * x)\n"
                           "    out.view(-1)[0] = float('nan')\n    return out, (x, slope)\n",
                           "failed", "NaN at [0, 0]"),
    "affine_forward": ("def affine_forward(x, w):\n    return x @ w, (x, w)\n",
                       "error", "does not match the assignment's affine_forward(x, w, b)"),
    "mse_loss": ("def mse_loss(pred, target):\n    raise ValueError('shapes confuse me')\n",
                 "error", "ValueError: shapes confuse me"),
    "relu_backward": ("def relu_backward(dout, cache):\n    while True:\n        pass\n",
                      "timeout", "did not finish within its 3 s limit"),
    "softplus_backward": ("def softplus_backward(dout, cache):\n    import os\n    os._exit(3)\n",
                          "error", "exited during this task"),
    "sigmoid_backward": ("def sigmoid_backward(dout, cache):\n    import sys\n    sys.exit(0)\n",
                         "error", "SystemExit"),
}


def test_bad_answers_cost_only_their_tasks(solutions, tmp_path):
    folder = tmp_path / AID
    shutil.copytree(solutions(AID), folder)
    for name, (body, _, _) in BAD.items():
        replace_function(folder, "layers.py", name, body)
    course = dataclasses.replace(COURSE, assignments=tuple(
        dataclasses.replace(a, tasks=tuple(
            dataclasses.replace(t, limits=dataclasses.replace(t.limits, time_s=3.0)) if t.id == "a02.relu_backward" else t
            for t in a.tasks)) for a in COURSE.assignments))
    from grader.judge.pipeline import grade
    result = grade(folder, course, [AID], runner=runner_for("cpu"))
    tasks = {t.id: t for t in result.assignments[0].tasks}
    for name, (_, status, message) in BAD.items():
        task = tasks[f"a02.{name}"]
        assert task.status == status, (name, task.status, task.checks[0].message)
        assert task.score == 0
        assert message in " ".join(c.said for c in task.checks), (name, task.checks[0].message)
    # everything that neither was broken nor calls a broken function still has full marks
    untouched = {"a02.tanh_backward", "a02.leaky_relu_backward", "a02.softmax_cross_entropy", "a02.sgd_step"}
    for tid in untouched:
        assert tasks[tid].status == "passed", (tid, tasks[tid].checks[0].message)
    assert "ValueError" in tasks["a02.mse_loss"].feedback  # the student's traceback is reported


def test_syntax_error_costs_that_files_tasks_only(solutions, tmp_path):
    folder = seeded_bug(solutions(AID), tmp_path, "mlp.py", "def sgd_step(", "def sgd_step(:")
    result = grade_folder(folder)
    scores = task_scores(result)
    lost = {t for t, (status, score, top) in scores.items() if score < top}
    assert lost == {"a02.mlp_forward", "a02.mlp_backward", "a02.sgd_step"}
    assert all(scores[t][0] == "error" for t in lost)
    assert all(scores[t][0] == "passed" for t in scores if t not in lost)
    # Said as what it is, about the file, not about a case; the traceback shows the student's own path.
    line = (folder / "mlp.py").read_text().split("def sgd_step(:")[0].count("\n") + 1
    task = next(t for t in result.tasks() if t.id == "a02.sgd_step")
    assert task.checks[0].message.startswith("mlp.py could not be imported: SyntaxError: ")
    assert f"(mlp.py, line {line})" in task.checks[0].message and task.checks[0].case is None
    assert f'File "{AID}/mlp.py", line {line}' in task.feedback and "importlib" not in task.feedback


def test_missing_folder_is_reported_and_other_assignments_still_graded(tmp_path, solutions):
    import shutil

    from grader.judge.pipeline import GradingError, grade
    (tmp_path / "course").mkdir()
    with pytest.raises(GradingError, match="no assignment found in .*course \\(it is empty\\)"):
        grade(tmp_path / "course", COURSE, runner=runner_for("cpu"))  # nothing of the course at all: said, not graded as zero
    shutil.copytree(solutions(AID), tmp_path / "course" / AID)
    result = grade(tmp_path / "course", COURSE, runner=runner_for("cpu"))  # what it holds is graded; the others are named once
    assert [a.id for a in result.assignments] == [AID] and "a01_neurons" in result.not_handed_in
    result = grade(tmp_path / "course", COURSE, every=True, runner=runner_for("cpu"))  # every assignment: a missing one scores zero
    graded = {a.id: a for a in result.assignments}
    assert graded[AID].score == graded[AID].max_score and result.not_handed_in == []
    a01 = graded["a01_neurons"]
    assert a01.score == 0 and "folder a01_neurons/ not found" in a01.message
    assert {t.status for t in a01.tasks} == {"error"}
    unavailable = [a.id for a in COURSE.assignments if not a.available]
    assert result.not_available == unavailable  # not yet available: graded as nothing, not zero
    assert set(graded) == {a.id for a in COURSE.assignments if a.available}
    assert result.max_score == sum(a.max_score for a in COURSE.assignments if a.available)


def test_grading_twice_gives_identical_json_apart_from_the_timestamp(solutions, tmp_path):
    folder = seeded_bug(solutions(AID), tmp_path, "layers.py", "    dw = x.T @ dout  # (D, M)\n",
                        "    dw = 1.0001 * x.T @ dout  # (D, M)\n")
    first, second = grade_folder(folder), grade_folder(folder)
    a, b = json.loads(to_json(first)), json.loads(to_json(second))
    assert a["graded_at"] and b["graded_at"]
    assert all(t["time_s"] > 0 for t in a["assignments"][0]["tasks"])  # each task's own running time
    assert comparable(a) == comparable(b)
    assert to_text(first) == to_text(second)


def test_json_follows_the_documented_schema(solutions):
    data = json.loads(to_json(grade_folder(solutions(AID))))
    assert {"score", "max_score", "assignments"} <= set(data)
    for a in data["assignments"]:
        assert {"id", "score", "max_score", "tasks"} <= set(a)
        for t in a["tasks"]:
            assert {"id", "score", "max_score", "status", "checks"} <= set(t)
            assert t["status"] in {"passed", "failed", "error", "timeout", "not_implemented"}
            for c in t["checks"]:
                assert {"name", "passed", "max_abs_err", "max_rel_err", "message"} <= set(c)
                assert isinstance(c["passed"], bool)


def test_bundled_buggy_example_differs_from_the_solutions_by_four_lines(solutions, graded_buggy):
    import difflib
    example = paths.ROOT / "examples" / "buggy_submission" / AID
    changed = 0
    for file in ("layers.py", "mlp.py"):
        diff = difflib.unified_diff((solutions(AID) / file).read_text().splitlines(),
                                    (example / file).read_text().splitlines(), n=0)
        changed += sum(1 for line in diff if line.startswith("+") and not line.startswith("+++"))
    assert changed == 4
    lost = lost_tasks(graded_buggy)
    assert lost == {"a02.affine_backward", "a02.tanh_backward", "a02.softmax_cross_entropy", "a02.sgd_step",
                    "a02.mlp_backward"}
