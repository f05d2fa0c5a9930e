"""Choosing assignments and tasks by id: one place (Course.select), with the nearest ids for a misspelt one."""
from __future__ import annotations

import dataclasses

import pytest

from grader.cli import main
from grader.course.config import SelectionError
from tests.helpers import COURSE


def test_ids_prefixes_and_tasks_are_chosen_in_the_order_named():
    chosen = COURSE.select(["a04", "a02_mlp_backprop", "a04.conv_backward"], task_ids=True)
    assert [(cfg.id, tasks) for cfg, tasks in chosen] == [("a04_cnn", None), ("a02_mlp_backprop", None)]
    only = COURSE.select(["a02.affine_backward", "a02.relu_forward"], task_ids=True)
    assert [(cfg.id, tasks) for cfg, tasks in only] == \
        [("a02_mlp_backprop", frozenset({"a02.affine_backward", "a02.relu_forward"}))]


@pytest.mark.parametrize("key, task_ids, nearest", [
    ("a02_mlp_backprob", False, "a02_mlp_backprop"),
    ("a13_graph", False, "a13_graphs"),
    ("a02.affine_backwrd", True, "a02.affine_backward"),
])
def test_a_misspelt_id_gets_the_nearest_ones(key, task_ids, nearest):
    with pytest.raises(SelectionError) as e:
        COURSE.select([key], task_ids=task_ids)
    assert f"'{key}' (did you mean {nearest}" in str(e.value)


def test_an_id_with_nothing_near_says_so_without_a_guess():
    with pytest.raises(SelectionError) as e:
        COURSE.select(["zzzz"])
    assert str(e.value) == "unknown assignment 'zzzz' (see course.yaml)"


def test_an_assignment_not_available_is_refused_only_when_asked():
    course = dataclasses.replace(COURSE, assignments=tuple(
        dataclasses.replace(a, available=False) if a.id == "a03_neuroevolution" else a for a in COURSE.assignments))
    with pytest.raises(SelectionError, match="a03_neuroevolution is not available yet"):
        course.select(["a03"])
    assert [cfg.id for cfg, _ in course.select(["a03"], available=False)] == ["a03_neuroevolution"]


def test_the_command_line_suggests_the_nearest_id(tmp_path, capsys):
    assert main(["grade", str(tmp_path), "--assignment", "a02_mlp_backprob"]) == 2
    assert "did you mean a02_mlp_backprop" in capsys.readouterr().err
