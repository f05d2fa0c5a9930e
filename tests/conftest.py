"""Fixtures shared by the whole suite."""
from __future__ import annotations

import pytest
import torch

from tests.helpers import solutions_copy, skeleton_copy


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
