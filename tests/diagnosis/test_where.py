"""Where a mistake is reported: on the task whose function made it, once as the cause on its callers."""
from __future__ import annotations

import pytest

from grader.results import CheckKind, DiagnosisKind as K
from tests.helpers import grade_folder, seeded_bugs

AID = "a09_recurrent"
IN_PLACE = ("lstm.py", "    c_next = f * c_prev + i * g  # (N, H)",
            "    c_prev.mul_(f)\n    c_next = c_prev + i * g  # (N, H)")


@pytest.fixture(scope="module")
def tasks(solutions, tmp_path_factory):
    folder = seeded_bugs(solutions(AID), tmp_path_factory.mktemp("where"), [IN_PLACE])
    return {t.id: t for t in grade_folder(folder, suite="all", sandboxed=False).assignments[0].tasks}


def failing(task):
    return [c for c in task.checks if not c.passed]


def test_an_input_changed_in_place_is_put_down_to_the_function_that_changes_it(tasks):
    own = next(c for c in failing(tasks["a09.lstm_step_forward"]) if c.kind == CheckKind.PROPERTY)
    assert own.kinds() == [K.IN_PLACE] and "lstm_step_forward changed its input c_prev in place" in own.said
    for caller in ("a09.lstm_step_backward", "a09.lstm_forward"):
        prop = next(c for c in failing(tasks[caller]) if c.kind == CheckKind.PROPERTY)
        assert "changed in place by a09.lstm_step_forward, which it calls" in prop.said, prop.said
        assert K.IN_PLACE not in prop.kinds()


def test_a_callers_own_numbers_say_nothing_and_the_cause_is_said_once(tasks):
    for caller in ("a09.lstm_step_backward", "a09.lstm_backward"):
        checks = failing(tasks[caller])
        kinds = [k for c in checks for k in c.kinds()]
        assert kinds == [K.CALLED_TASK], (caller, [c.said for c in checks])  # no "your backward" blame
        assert checks[0].said.count("it calls") == 1 and "()" not in " ".join(c.said for c in checks)
