"""Fixtures shared by the whole suite."""
from __future__ import annotations

import pytest
import torch

from tests.helpers import grade_folder, solutions_copy, skeleton_copy

# The expected values are computed in the test process on tiny tensors: one thread is faster,
# and two test workers must not oversubscribe two cores (torch's pool then spins and stalls).
torch.set_num_threads(1)


def pytest_collection_modifyitems(config, items):
    if torch.cuda.is_available():
        return
    skip = pytest.mark.skip(reason="needs CUDA")
    for item in items:
        if "cuda" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(scope="session")
def release_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("release")


@pytest.fixture(scope="session")
def solutions(tmp_path_factory):
    """``solutions("a02_mlp_backprop")`` -> a solutions copy of that assignment (made once per session)."""
    made = {}

    def get(aid: str):
        if aid not in made:
            made[aid] = solutions_copy(tmp_path_factory.mktemp(f"sol-{aid}"), aid)
        return made[aid]
    return get


@pytest.fixture(scope="session")
def skeletons(tmp_path_factory):
    made = {}

    def get(aid: str):
        if aid not in made:
            made[aid] = skeleton_copy(tmp_path_factory.mktemp(f"skel-{aid}"), aid)
        return made[aid]
    return get


@pytest.fixture(scope="session")
def graded_solutions(solutions):
    """``graded_solutions(aid)`` -> the solutions copy graded on every suite (once per session)."""
    made = {}

    def get(aid: str):
        if aid not in made:
            made[aid] = grade_folder(solutions(aid), suite="all")
        return made[aid]
    return get
