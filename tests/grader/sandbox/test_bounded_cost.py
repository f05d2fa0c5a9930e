"""No submission can make its own grading expensive: what it does wrong costs at most about one task limit.

Each grading here counts the sandboxed processes it starts (a fresh process is a torch import,
the main cost of a restart) and checks which tasks ran at all.
"""
from __future__ import annotations

import dataclasses
import shutil

import pytest

from grader.course.config import Budgets
from grader.judge.pipeline import grade
from grader.results import Status
from grader.sandbox import process, session
from grader.sandbox.session import runner_for
from tests.grader.sandbox.test_adversarial import callers
from tests.helpers import COURSE

AID = "a02_mlp_backprop"
LOOP = "\n    while True:\n        pass\n"


def course_with(time_s: float, assignment_s: float = 600.0):
    """The course with every a02 task limited to ``time_s`` and the given assignment budget."""
    def task(t):
        return dataclasses.replace(t, limits=dataclasses.replace(t.limits, time_s=time_s))
    return dataclasses.replace(COURSE, budgets=Budgets(assignment_s, max(assignment_s, 1800.0)), assignments=tuple(
        dataclasses.replace(a, tasks=tuple(task(t) for t in a.tasks)) if a.id == AID else a
        for a in COURSE.assignments))


@pytest.fixture
def children(monkeypatch):
    """How many sandboxed processes the grading started."""
    started = []

    class Counted(process.Child):
        def __init__(self, *args, **kwargs):
            started.append(1)
            super().__init__(*args, **kwargs)

    monkeypatch.setattr(session, "Child", Counted)
    return started


def submission(solutions, tmp_path, file: str, edit) -> object:
    folder = tmp_path / AID
    shutil.copytree(solutions(AID), folder)
    path = folder / file
    path.write_text(edit(path.read_text()))
    return folder


def in_body(name: str):
    """An edit that makes function ``name`` loop forever, after its docstring."""
    def edit(text: str) -> str:
        start = text.index(f"def {name}(")
        end = text.index('"""', text.index('"""', start) + 3) + 3
        return text[:end] + LOOP + text[end:]
    return edit


def by_id(result):
    return {t.id: t for t in result.tasks()}


def test_patched_comparisons_cost_no_fresh_process(solutions, tmp_path, children):
    patch = ("\n\nimport numpy as _np\nimport torch as _torch\n\n"
             "_torch.allclose = lambda *a, **k: True\n_torch.equal = lambda *a, **k: True\n"
             "_np.allclose = lambda *a, **k: True\n_np.testing.assert_allclose = lambda *a, **k: None\n"
             "_torch.testing.assert_close = lambda *a, **k: None\n_real = relu_forward\n\n\n"
             "def relu_forward(x):\n    _torch.allclose = lambda *a, **k: True\n    return _real(x)\n")
    folder = submission(solutions, tmp_path, "layers.py", lambda text: text + patch)
    result = grade(folder, COURSE, [AID], runner=runner_for("cpu"))
    assert result.score == result.max_score  # the answers are right, and judged in the parent
    assert len(children) == 1
    assert any("torch.allclose" in n and "put it back" in n for n in by_id(result)["a02.relu_forward"].notes)


def test_an_infinite_loop_in_a_building_block_costs_one_limit(solutions, tmp_path, children):
    folder = submission(solutions, tmp_path, "layers.py", in_body("affine_forward"))
    tasks = by_id(grade(folder, course_with(2.0), [AID], runner=runner_for("cpu")))
    assert tasks["a02.affine_forward"].status == Status.TIMEOUT
    blocked = callers({"a02.affine_forward"}) - {"a02.affine_forward"}
    assert blocked == {"a02.affine_backward", "a02.mlp_forward", "a02.mlp_backward"}
    for tid in blocked:
        said = tasks[tid].checks[0].message
        assert tasks[tid].score == 0 and said.startswith("not run: it calls a02."), said
        assert "did not finish within its 2 s limit" in said
        assert said.count("(it calls") == 0  # the cause is said once
    assert tasks["a02.affine_backward"].blocked_by == ["a02.affine_forward"]
    assert all(t.score == t.max_score for tid, t in tasks.items() if tid not in blocked | {"a02.affine_forward"})
    assert len(children) == 2  # the first, and one after the loop was killed


def test_a_building_block_that_leaves_threads_running_is_run_once_not_by_each_caller(solutions, tmp_path, children):
    spin = ("\n    import threading, time\n    for _ in range(4):\n"
            "        threading.Thread(target=time.sleep, args=(3600,), daemon=True).start()\n")
    folder = submission(solutions, tmp_path, "layers.py", lambda text: in_body("affine_forward")(text).replace(
        LOOP, spin, 1))
    tasks = by_id(grade(folder, COURSE, [AID], runner=runner_for("cpu")))
    said = tasks["a02.affine_forward"].checks[0].message
    assert tasks["a02.affine_forward"].status == Status.ERROR and "left 4 threads running" in said, said
    blocked = callers({"a02.affine_forward"}) - {"a02.affine_forward"}
    for tid in blocked:
        said = tasks[tid].checks[0].message
        assert tasks[tid].score == 0 and said.startswith("not run: it calls a02."), said
        assert "a02.affine_forward, which left 4 threads running after it returned" in said, said
    assert all(t.score == t.max_score for tid, t in tasks.items() if tid not in blocked | {"a02.affine_forward"})
    assert len(children) == 2  # the first, and one after the threads were left: no caller ran the spin again


@pytest.mark.parametrize("hangs, message", [
    ("mlp.py", "mlp.py did not finish importing within 2 s"),
    ("layers.py", "mlp.py imports layers.py, which did not finish importing within 2 s"),
])
def test_a_module_that_hangs_at_import_costs_one_limit(hangs, message, solutions, tmp_path, children):
    folder = submission(solutions, tmp_path, hangs, lambda text: text.replace("\nimport torch\n",
                                                                              "\nimport torch\n" + LOOP[5:], 1))
    tasks = by_id(grade(folder, course_with(2.0), [AID], runner=runner_for("cpu")))
    for tid in ("a02.mlp_forward", "a02.mlp_backward", "a02.sgd_step"):
        assert tasks[tid].status == Status.TIMEOUT and tasks[tid].checks[0].message == message
        assert tasks[tid].checks[0].case is None  # about the module, not a case
    others = [t for tid, t in tasks.items() if not tid.startswith("a02.mlp") and tid != "a02.sgd_step"]
    assert all(t.score == (0 if hangs == "layers.py" else t.max_score) for t in others)
    assert len(children) <= 2


def test_the_assignment_budget_stops_a_long_grading_and_says_so(solutions, tmp_path, children):
    loops = ["sigmoid_forward", "tanh_forward", "relu_forward", "softplus_forward", "leaky_relu_forward",
             "affine_forward", "softmax_cross_entropy", "mse_loss"]  # 8 tasks x 2 s, none calls another

    def edit(text: str) -> str:
        for name in loops:
            text = in_body(name)(text)
        return text

    folder = submission(solutions, tmp_path, "layers.py", edit)
    result = grade(folder, course_with(2.0, assignment_s=10.0), [AID], runner=runner_for("cpu"))
    a = result.assignments[0]
    assert a.ran_out == "assignment" and a.score == 0
    said = [t.checks[0].message for t in a.tasks]
    assert any("the assignment's time budget of 10 s ran out" in m for m in said)
    assert said[-1] == "not run: the assignment's time budget of 10 s ran out before this task"
    assert len(children) <= 2 + len(loops)


def test_a_failed_case_whose_next_case_hangs_costs_the_settling_wait_not_the_limit(solutions, tmp_path, children):
    """The next case is sent before the current one is answered. When the current one fails, the task ends
    there; the one already sent is awaited for SETTLE_S at most: one that hangs costs its process, not the
    task's limit (an hour here: waiting for it would run into this test's own timeout), and the next task
    runs and passes in a fresh one."""
    def edit(text: str) -> str:  # the first call raises, every later call loops forever
        start = text.index("def relu_forward(")
        end = text.index('"""', text.index('"""', start) + 3) + 3
        body = "\n    _CALLS.append(1)\n    if len(_CALLS) == 1:\n        raise ValueError('first case')\n" + LOOP
        return text[:end] + body + text[end:] + "\n\n_CALLS = []\n"
    folder = submission(solutions, tmp_path, "layers.py", edit)
    graded = {"a02.tanh_forward", "a02.relu_forward", "a02.softplus_forward"}  # relu's callers would loop at once
    tasks = by_id(grade(folder, course_with(3600.0, 3600.0), [AID], runner=runner_for("cpu"), tasks=graded))
    relu = tasks["a02.relu_forward"]
    assert relu.status == Status.ERROR and "first case" in relu.checks[0].message and relu.checks[0].case == 0
    assert tasks["a02.tanh_forward"].status == tasks["a02.softplus_forward"].status == Status.PASSED
    assert len(children) == 2  # the first, and the one after the hanging case's was dropped
