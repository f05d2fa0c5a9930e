"""The gradings every format is rendered from, each graded once per session on every suite: the solutions,
the buggy example (submitted late), and a submission with an error, a timeout and a task not implemented."""
from __future__ import annotations

import dataclasses
import datetime as dt

import pytest

from grader import i18n, paths
from grader.judge.pipeline import grade
from grader.results import GradingResult
from grader.sandbox.session import runner_for
from tests.helpers import COURSE, seeded_bugs

AID = "a02_mlp_backprop"
LATE = dt.datetime(2027, 2, 21, 8, 0, tzinfo=dt.timezone.utc)  # two started days after a02's deadline and grace
BROKEN = [  # (file, old, new): each makes one task break in its own way
    ("layers.py", "    out = torch.where(x >= 0, 1.0 / (1.0 + z), z / (1.0 + z))\n",
     "    raise NotImplementedError(\"a02.sigmoid_forward\")\n"),
    ("layers.py", "    dx = dout * (x > 0).to(dout.dtype)\n",
     "    while True:\n        pass\n    dx = dout * (x > 0).to(dout.dtype)\n"),
    ("layers.py", "    diff = pred - target  # (N, K)\n",
     "    print('about to fail')\n    raise ValueError('shapes confuse me')\n"),
]
BROKEN_TASKS = {"a02.sigmoid_forward", "a02.relu_backward", "a02.mse_loss", "a02.affine_forward"}
TIMEOUT_S = 2.0  # relu_backward's limit here: its loop never ends


def _short_limit(course, task_id: str, seconds: float):
    def task(t):
        return dataclasses.replace(t, limits=dataclasses.replace(t.limits, time_s=seconds)) if t.id == task_id else t
    return dataclasses.replace(course, assignments=tuple(
        dataclasses.replace(a, tasks=tuple(task(t) for t in a.tasks)) for a in course.assignments))


@pytest.fixture(scope="session")
def buggy() -> GradingResult:
    folder = paths.ROOT / "examples" / "buggy_submission" / AID
    return grade(folder, COURSE, [AID], suite="all", submitted_at=LATE, runner=runner_for("cpu"))


@pytest.fixture(scope="session")
def broken(solutions, tmp_path_factory) -> GradingResult:
    folder = seeded_bugs(solutions(AID), tmp_path_factory.mktemp("broken"), BROKEN)
    return grade(folder, _short_limit(COURSE, "a02.relu_backward", TIMEOUT_S), [AID], suite="all",
                 tasks=BROKEN_TASKS, runner=runner_for("cpu"))


@pytest.fixture(scope="session")
def gradings(graded_solutions, buggy, broken) -> dict[str, GradingResult]:
    return {"solutions": graded_solutions(AID), "buggy": buggy, "broken": broken}


@pytest.fixture(scope="session")
def buggy_page(buggy) -> str:
    from grader.reports import render
    return render(buggy, "html")


@pytest.fixture(scope="session")
def buggy_zh() -> GradingResult:
    """The buggy example graded as a Chinese reader gets it (``--lang zh_CN``), late as :func:`buggy`."""
    folder = paths.ROOT / "examples" / "buggy_submission" / AID
    with i18n.using("zh_CN"):
        return grade(folder, COURSE, [AID], suite="all", submitted_at=LATE, runner=runner_for("cpu"))


@pytest.fixture(scope="session")
def buggy_page_zh(buggy_zh) -> str:
    from grader.reports import render
    with i18n.using("zh_CN"):
        return render(buggy_zh, "html")
