"""The class of a01 submissions the batch tests grade, made once per session."""
from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import pytest

from tests.grader.batch.common import AID, Class, make_class


@pytest.fixture(scope="session")
def a01_class(tmp_path_factory, solutions, skeletons) -> Class:
    return make_class(tmp_path_factory.mktemp("a01-class"), solutions(AID), skeletons(AID))


@pytest.fixture
def short_tmp():
    """A temporary folder with a short path, for a batch's TMPDIR: the local pool's forkserver puts its socket
    there (a Unix socket's path has at most 107 bytes; pytest's own folders are longer under xdist)."""
    folder = Path(tempfile.mkdtemp(prefix="batch-", dir="/tmp"))
    yield folder
    shutil.rmtree(folder, ignore_errors=True)
