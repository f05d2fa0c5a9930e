"""Frozen public cases: they read back exactly as computed, and a stale, partial or foreign file is refused."""
from __future__ import annotations

import dataclasses

import pytest
import torch

from grader import paths
from grader.authoring.student_repo import student_course
from grader.course import config
from grader.judge import fixtures
from grader.judge.cases import Case, GradingError, computed_cases, make_cases
from grader.sandbox.inside import wire
from grader.tasks import suites
from tests.helpers import COURSE

AID = "a01_neurons"
CFG = COURSE.assignment(AID)
SUITE = suites.load(AID)


@pytest.fixture(scope="module")
def frozen_bytes() -> bytes:
    return fixtures.freeze(COURSE, CFG, SUITE)


def student_course_at(tmp_path, data: bytes, text: str | None = None) -> config.Course:
    """A student repository's course.yaml in ``tmp_path``, with ``data`` as a01's frozen cases."""
    (tmp_path / "fixtures" / AID).mkdir(parents=True)
    (tmp_path / "course.yaml").write_text(text or student_course(paths.COURSE.read_text()))
    (tmp_path / "fixtures" / AID / "public.bin").write_bytes(data)
    return config.load(tmp_path / "course.yaml")


def test_they_read_back_as_the_public_cases_and_the_reference_s_outputs(tmp_path, frozen_bytes):
    course = student_course_at(tmp_path, frozen_bytes)
    cases, expected = fixtures.read(course, course.assignment(AID), "public")
    live_cases, live_expected = computed_cases(COURSE, CFG, SUITE, "public")
    assert list(cases) == [t.id for t in CFG.tasks]
    for tid in cases:
        assert [(c.suite, c.index) for c in cases[tid]] == [("public", i) for i in range(COURSE.suites["public"].cases)]
        assert fixtures.differs([c.inputs for c in live_cases[tid]], [c.inputs for c in cases[tid]], tid) == ""
        assert fixtures.differs(live_expected[tid], expected[tid], tid) == ""


def test_a_file_frozen_from_another_seed_is_refused(tmp_path, frozen_bytes):
    public = COURSE.suites["public"]
    text = student_course(paths.COURSE.read_text()).replace(f"public: {{seed: {public.seed},",
                                                            f"public: {{seed: {public.seed + 1},")
    course = student_course_at(tmp_path, frozen_bytes, text)
    with pytest.raises(GradingError, match=rf"frozen for a01_neurons's public suite \(seed {public.seed}, .* asks "
                                           rf"for a01_neurons's \(seed {public.seed + 1}.*\(grader release "
                                           r"--student-repo\)"):
        fixtures.read(course, course.assignment(AID), "public")


def test_a_file_without_a_task_or_with_another_format_is_refused(tmp_path, frozen_bytes):
    tree = wire.decode(frozen_bytes)
    del tree["tasks"]["a01.oja_step"]
    course = student_course_at(tmp_path / "partial", wire.encode(tree))
    with pytest.raises(GradingError, match="no 4 frozen cases for a01.oja_step"):
        fixtures.read(course, course.assignment(AID), "public")
    course = student_course_at(tmp_path / "garbage", b"\x00\x00\x00\x00\x00\x00\x00\x02{}")
    with pytest.raises(GradingError, match="not a fixtures file"):
        fixtures.read(course, course.assignment(AID), "public")


def test_a_missing_file_and_the_hidden_suite_are_refused_saying_why(tmp_path, frozen_bytes):
    course = student_course_at(tmp_path, frozen_bytes)
    with pytest.raises(GradingError, match=r"a02_mlp_backprop/public.bin: missing: the frozen public cases of "
                                           r"a02_mlp_backprop"):
        fixtures.read(course, course.assignment("a02"), "public")
    with pytest.raises(GradingError, match="holds the public suite only"):
        fixtures.read(course, course.assignment(AID), "all")


def test_freezing_refuses_what_the_wire_format_would_change(monkeypatch):
    def cases_with(value):
        def computed(course, cfg, suite, which):
            return {"a01.ltu_forward": [Case("public", 0, {"x": torch.ones(2), "size": value})]}, \
                {"a01.ltu_forward": [{"out": torch.ones(2)}]}
        return computed

    monkeypatch.setattr(fixtures, "computed_cases", cases_with((1, 2.5)))  # a tuple comes back a list: the same
    assert wire.decode(fixtures.freeze(COURSE, CFG, SUITE))["tasks"]["a01.ltu_forward"][0]["inputs"]["size"] == [1, 2.5]
    monkeypatch.setattr(fixtures, "computed_cases", cases_with(torch.Size([2, 3])))
    with pytest.raises(ValueError, match=r"a01_neurons: the public cases cannot be frozen exactly: "
                                         r"a01.ltu_forward.0.inputs.size"):
        fixtures.freeze(COURSE, CFG, SUITE)


def test_without_a_reference_or_fixtures_grading_says_what_is_missing():
    cfg = dataclasses.replace(CFG, id="a99_nowhere")
    with pytest.raises(GradingError, match="no reference/a99_nowhere to compute the expected values from, and no "
                                           "frozen public cases"):
        computed_cases(COURSE, cfg, SUITE, "public")
    public_only = dataclasses.replace(COURSE, suites={"public": COURSE.suites["public"]})
    with pytest.raises(GradingError, match="has no hidden suite"):
        make_cases(public_only, SUITE.tasks["a01.ltu_forward"], "hidden")
