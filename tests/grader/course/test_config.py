"""course.yaml validation: every bad value is an error naming the key and its line."""
from __future__ import annotations

import datetime as dt

import pytest

from grader import paths
from grader.course import config
from grader.course.config import ConfigError, LatePolicy, parse
from grader.course.policy import late_penalty

VALID = """\
course: Test course
devices: [cpu, cuda]
tolerances:
  float64:
    cpu: {rtol: 1.0e-7, atol: 1.0e-9}
    cuda: {rtol: 1.0e-6, atol: 1.0e-8}
  float32:
    cpu: {rtol: 1.0e-4, atol: 1.0e-5}
    cuda: {rtol: 1.0e-3, atol: 1.0e-4}
limits: {time_s: 60, memory_mb: 2048}
suites:
  public: {seed: 1, cases: 3}
  hidden: {seed: 2, cases: 5}
late_policy: {grace_minutes: 10, penalty_per_day: 0.1, cap: 0.5}
assignments:
  - id: a01_neurons
    title: Neurons
    available: false
  - id: a02_mlp_backprop
    title: MLP
    deadline: 2027-02-19T23:59:00+00:00
    tasks:
      - {id: a02.affine_forward, points: 2}
      - id: a02.affine_backward
        points: 3
        limits: {time_s: 5}
"""


def test_valid_course_parses():
    c = parse(VALID)
    assert c.devices == ("cpu", "cuda")
    assert c.tolerance("float32", "cuda") == (1e-3, 1e-4)
    a = c.assignment("a02")
    assert a is c.assignment("a02_mlp_backprop")
    assert [t.points for t in a.tasks] == [2.0, 3.0]
    assert a.tasks[0].limits == config.Limits(60.0, 2048)
    assert a.tasks[1].limits == config.Limits(5.0, 2048)  # per-task override keeps the memory default
    assert a.deadline == dt.datetime(2027, 2, 19, 23, 59, tzinfo=dt.timezone.utc)
    assert not c.assignment("a01").available and c.assignment("a01").max_score == 0


def test_the_shipped_course_yaml_is_valid_and_lists_all_13_assignments():
    c = config.load(paths.COURSE)
    ids = [a.id for a in c.assignments]
    assert ids == ["a01_neurons", "a02_mlp_backprop", "a03_neuroevolution", "a04_cnn", "a05_batchnorm_alexnet",
                   "a06_energy_models", "a07_autoencoders_dbn", "a08_unsupervised", "a09_recurrent",
                   "a10_attention", "a11_transformer", "a12_capsules", "a13_graphs"]


def error_for(old: str, new: str) -> str:
    assert old in VALID
    with pytest.raises(ConfigError) as e:
        parse(VALID.replace(old, new, 1))
    return str(e.value)


@pytest.mark.parametrize("old,new,expected", [
    ("late_policy:", "late_polcy:", "course.yaml:14: top level: unknown key 'late_polcy'"),
    ("    title: MLP\n", "    title: MLP\n    colour: red\n", "course.yaml:21: assignments[1]: unknown key 'colour'"),
    ("{id: a02.affine_forward, points: 2}", "{id: a02.affine_forward, points: 0}",
     "course.yaml:23: assignments[1].tasks[0].points: must be positive, got 0"),
    ("{id: a02.affine_forward, points: 2}", "{id: a02.affine_forward, points: -1.5}", "must be positive, got -1.5"),
    ("{id: a02.affine_forward, points: 2}", "{id: a02.affine_forward, points: two}",
     "assignments[1].tasks[0].points: expected a number, got str 'two'"),
    ("devices: [cpu, cuda]", "devices: [cpu, tpu]", "course.yaml:2: devices[1]: unknown device 'tpu'"),
    ("  float32:\n", "  float8:\n", "course.yaml:7: tolerances: unknown key 'float8'"),
    ("id: a02.affine_backward", "id: a02.affine_forward", "course.yaml:24: assignments[1].tasks[1].id: duplicate task id"),
    ("id: a01_neurons", "id: a02_mlp_backprop", "duplicate assignment id 'a02_mlp_backprop'"),
    ("rtol: 1.0e-7", "rtol: 1e-7", "write it with a decimal point"),
    ("limits: {time_s: 60", "limits: {time_s: yes", "course.yaml:10: limits.time_s: expected a number, got a boolean"),
    ("{id: a02.affine_forward, points: 2}", "{id: a03.affine_forward, points: 2}", "must start with 'a02.'"),
    ("deadline: 2027-02-19T23:59:00+00:00", "deadline: 2027-02-19T23:59:00", "needs a time zone"),
    ("public: {seed: 1, cases: 3}", "public: {seed: 1, cases: 0}", "suites.public.cases: must be positive"),
    ("cap: 0.5", "cap: 1.5", "late_policy.cap: must be between 0 and 1"),
    ("course: Test course\n", "course: Test course\ncourse: Again\n", "course.yaml:2: top level: duplicate key 'course'"),
    ("    cuda: {rtol: 1.0e-3, atol: 1.0e-4}\n", "", "course.yaml:8: tolerances.float32: missing key 'cuda'"),
    ("memory_mb: 2048", "memory_mb: 100", "must be at least 256"),
])
def test_bad_values_name_key_and_line(old, new, expected):
    assert expected in error_for(old, new)


def test_yaml_syntax_error_names_the_line():
    with pytest.raises(ConfigError, match=r"course.yaml:\d+: not valid YAML"):
        parse("course: [unclosed\ndevices: [cpu]\n")


def test_missing_file_is_a_config_error(tmp_path):
    with pytest.raises(ConfigError, match="no such file"):
        config.load(tmp_path / "nope.yaml")


def test_available_assignment_needs_tasks():
    with pytest.raises(ConfigError, match="an available assignment needs tasks"):
        parse(VALID.replace("    available: false\n", ""))


@pytest.mark.parametrize("late_by,penalty", [
    (dt.timedelta(minutes=-5), 0.0),
    (dt.timedelta(minutes=14), 0.0),          # inside the grace period
    (dt.timedelta(minutes=16), 0.1),          # one started day
    (dt.timedelta(days=1, minutes=16), 0.2),  # two started days
    (dt.timedelta(days=30), 0.5),             # capped
])
def test_late_penalty(late_by, penalty):
    policy = LatePolicy(grace_minutes=15, penalty_per_day=0.1, cap=0.5)
    deadline = dt.datetime(2027, 2, 19, 23, 59, tzinfo=dt.timezone.utc)
    assert late_penalty(policy, deadline, deadline + late_by) == pytest.approx(penalty)
    assert late_penalty(policy, None, deadline + late_by) == 0.0


def test_every_error_is_reported_at_once_each_with_its_line():
    text = (VALID.replace("penalty_per_day: 0.1", "penalty_per_day: 1.5")
                 .replace("public: {seed: 1, cases: 3}", "public: {seed: 1, cases: 0}")
                 .replace("title: MLP", "title: MLP\n    availble: true")
                 .replace("{id: a02.affine_forward, points: 2}", "{id: a02.affine_forward, points: -2}"))
    with pytest.raises(ConfigError) as e:
        parse(text)
    lines = e.value.errors
    assert len(lines) == 4, lines
    assert any(m.startswith("course.yaml:14: late_policy.penalty_per_day: must be between 0 and 1") for m in lines)
    assert any(m.startswith("course.yaml:12: suites.public.cases: must be positive") for m in lines)
    assert any("unknown key 'availble'" in m for m in lines)
    assert any("assignments[1].tasks[0].points: must be positive, got -2" in m for m in lines)


@pytest.mark.parametrize("name", ["torch.nn.functionl", "torch.nn.functional.rleu", "numpy.linalgx.*",
                                  "torch.autogradd"])
def test_a_misspelt_banned_name_is_an_error_naming_its_line(name):
    text = VALID.replace("        limits: {time_s: 5}", f"        limits: {{time_s: 5}}\n        banned: [{name}]")
    with pytest.raises(ConfigError, match=rf"course.yaml:27: .*banned\[0\]: '{name}' does not name anything"):
        parse(text)


@pytest.mark.parametrize("name", ["torch.nn.functional", "torch.nn.functional.relu", "torch.autograd.*",
                                  "numpy.linalg.solve", "torch.Tensor.backward"])
def test_real_banned_names_resolve(name):
    assert config.resolves(name)


def test_validate_names_the_line_of_a_task_the_suite_does_not_check(tmp_path, capsys):
    from grader import cli
    course = paths.COURSE.read_text().replace("{id: a02.sgd_step,", "{id: a02.sgd_stepp,")
    target = tmp_path / "course.yaml"
    target.write_text(course)
    line = course[:course.index("a02.sgd_stepp")].count("\n") + 1
    assert cli.main(["--course", str(target), "validate"]) == 2
    err = capsys.readouterr().err
    assert f"{target}:{line}: a02.sgd_stepp: no checks in grader/tasks/suites/a02_mlp_backprop.py" in err
    assert "checks tasks course.yaml does not list: a02.sgd_step" in err
    assert "grader: 2 errors" in err


def test_validate_reports_the_files_errors_and_the_suites_mismatches_in_one_run(tmp_path, capsys):
    from grader import cli, paths
    bad = tmp_path / "course.yaml"
    bad.write_text(paths.COURSE.read_text().replace("course:", "cours:", 1)
                   .replace("devices:", "devics:", 1).replace("a02.affine_backward", "a02.afine_backward", 1))
    assert cli.main(["--course", str(bad), "validate"]) == 2
    said = capsys.readouterr().err
    assert said.startswith("grader: 6 errors\n"), said
    for fragment in ("unknown key 'cours'", "unknown key 'devics'", "missing key 'course'", "missing key 'devices'",
                     "a02.afine_backward: no checks in", "does not list: a02.affine_backward"):
        assert fragment in said, (fragment, said)
