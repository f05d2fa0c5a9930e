"""The class the insights tests read, made and graded once per session."""
from __future__ import annotations

import pytest

from tests.grader.insights.classroom import AID, Classroom, make_classroom


@pytest.fixture(scope="session")
def classroom(tmp_path_factory, solutions, skeletons) -> Classroom:
    return make_classroom(tmp_path_factory.mktemp("insights-class"), solutions(AID), skeletons(AID))


@pytest.fixture(scope="session")
def insights(classroom):
    from grader.insights import analyse
    return analyse(classroom.gradebook, classroom.folder, skeletons=classroom.skeleton.parent, top=100)
