"""Fixtures shared by the whole suite."""
from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import pytest
import torch

from grader import paths
from grader.sandbox.bundle import hold

# The tests' own cache folder (never the user's), set before tests.helpers loads the course; the commands
# the tests run inherit it.
CACHE_FOLDER = tempfile.mkdtemp(prefix="deepgrade-test-cache-")
CACHE_LOCK = hold(Path(CACHE_FOLDER))  # a test run that is killed leaves it to the next grading's sweep
os.environ[paths.CACHE_ENV] = CACHE_FOLDER

from tests.helpers import grade_folder, solutions_copy, skeleton_copy  # noqa: E402

# The expected values are computed in the test process on tiny tensors: one thread is faster,
# and two test workers must not oversubscribe two cores (torch's pool then spins and stalls).
torch.set_num_threads(1)


# A full-size experiment (-m slow) runs for far longer than pyproject's per-test timeout, which is
# sized for the default suite; it keeps a limit only against a hang.
SLOW_TIMEOUT_S = 4 * 3600


def pytest_unconfigure(config):
    shutil.rmtree(CACHE_FOLDER, ignore_errors=True)


def pytest_collection_modifyitems(config, items):
    skip = None if torch.cuda.is_available() else pytest.mark.skip(reason="needs CUDA")
    for item in items:
        if skip is not None and "cuda" in item.keywords:
            item.add_marker(skip)
        if "slow" in item.keywords and item.get_closest_marker("timeout") is None:
            item.add_marker(pytest.mark.timeout(SLOW_TIMEOUT_S))


def per_assignment(make):
    """A getter that makes its value once per assignment id and then returns the same one."""
    made = {}

    def get(aid: str):
        if aid not in made:
            made[aid] = make(aid)
        return made[aid]
    return get


@pytest.fixture(scope="session")
def solutions(tmp_path_factory):
    """``solutions("a02_mlp_backprop")`` -> a solutions copy of that assignment (made once per session)."""
    return per_assignment(lambda aid: solutions_copy(tmp_path_factory.mktemp(f"sol-{aid}"), aid))


@pytest.fixture(scope="session")
def skeletons(tmp_path_factory):
    """``skeletons(aid)`` -> an untouched skeleton of that assignment, as released to students."""
    return per_assignment(lambda aid: skeleton_copy(tmp_path_factory.mktemp(f"skel-{aid}"), aid))


@pytest.fixture(scope="session")
def graded_solutions(solutions):
    """``graded_solutions(aid)`` -> the solutions copy graded on every suite (once per session)."""
    return per_assignment(lambda aid: grade_folder(solutions(aid), suite="all"))


@pytest.fixture(scope="session")
def graded_skeletons(skeletons):
    """``graded_skeletons(aid)`` -> the untouched skeleton graded on the public suite (once per session)."""
    return per_assignment(lambda aid: grade_folder(skeletons(aid)))


@pytest.fixture(scope="session")
def graded_buggy():
    """``examples/buggy_submission`` (a02 with four seeded bugs) graded on every suite, in the sandbox."""
    return grade_folder(paths.ROOT / "examples" / "buggy_submission" / "a02_mlp_backprop", suite="all")
