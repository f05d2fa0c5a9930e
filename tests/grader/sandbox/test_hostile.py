"""Hostile submissions (tests/hostile/variants.py): a task done by what its bans forbid scores zero.

Variants are grouped so that one grading tries several, each on a task of its own that neither
calls nor is called by another attacked task of the group. Each group is first graded with the
course's bans taken away, in process (the course's own runner for its own code: the same checks,
without the sandbox's rules on what a task may leave running, which torch.func's first use would
break), where every variant must earn its task's full marks, so each one is a real attack and not
code that fails on its own; then through the CLI with the course's bans, at
every isolation level this machine gives, where every attacked task must end ``banned`` with
zero points and every other task must keep the honest solutions' result.
"""
from __future__ import annotations

import dataclasses
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from grader import paths
from grader.judge.pipeline import grade
from grader.quality.inprocess import InProcessRunner
from grader.sandbox.levels import detect
from grader.sandbox.session import runner_for
from tests.helpers import COURSE, callers, splice_source
from tests.hostile.variants import VARIANTS, Variant

CLI_TIMEOUT_S = 900  # a whole grading through the CLI; load may slow it, nothing should hang it


# Calls the suites do not declare but a submission's code may make: a02's mlp_forward looks its
# activation up in mlp.py's ACTIVATIONS table, which holds every activation's forward and backward,
# so the scan rightly counts a banned backward against it too.
TABLE_CALLS = {f"a02.{act}_backward": {"a02.mlp_forward"}
               for act in ("sigmoid", "tanh", "relu", "leaky_relu", "softplus")}


def _up(aid: str) -> dict[str, set[str]]:
    """Task id -> every task that calls it, directly or not."""
    direct = {t: c | TABLE_CALLS.get(t, set()) for t, c in callers(aid).items()}
    up: dict[str, set[str]] = {}
    for task in direct:
        seen, todo = set(), [task]
        while todo:
            for caller in direct.get(todo.pop(), ()):
                if caller not in seen:
                    seen.add(caller)
                    todo.append(caller)
        up[task] = seen
    return up


def _related(aid: str) -> dict[str, set[str]]:
    """Task id -> every task that calls it or that it calls, directly or not."""
    up = _up(aid)
    return {t: up[t] | {o for o in up if t in up[o]} for t in up}


def _groups() -> list[tuple[str, tuple[str, ...]]]:
    """(assignment, variant names), each group's tasks standing apart: first fit, the most attacked
    tasks first (each of their variants needs a group of its own), then the rest where they fit."""
    groups: list[tuple[str, list[str]]] = []
    related: dict[str, dict[str, set[str]]] = {}
    count = {t: sum(v.task == t for v in VARIANTS.values()) for t in {v.task for v in VARIANTS.values()}}
    for name, v in sorted(VARIANTS.items(), key=lambda kv: (-count[kv[1].task], kv[1].task)):
        rel = related.setdefault(v.assignment, _related(v.assignment))
        for aid, members in groups:
            tasks = {VARIANTS[m].task for m in members}
            files_taken = {(VARIANTS[m].file, VARIANTS[m].task) for m in members}
            if aid == v.assignment and v.task not in tasks and not (rel[v.task] & tasks) and \
                    (v.file, v.task) not in files_taken:
                members.append(name)
                break
        else:
            groups.append((v.assignment, [name]))
    return [(aid, tuple(members)) for aid, members in groups]


GROUPS = _groups()
GROUP_IDS = [f"{aid[:3]}-{i}" for i, (aid, _) in enumerate(GROUPS)]


def test_the_set_covers_each_class_with_many_variants():
    kinds = [v.kind for v in VARIANTS.values()]
    assert len(VARIANTS) >= 40
    assert {k: kinds.count(k) >= 8 for k in ("autograd", "reexport", "operation")} == \
        {"autograd": True, "reexport": True, "operation": True}
    for aid, members in GROUPS:  # within a grading, each variant has a task of its own
        tasks = [VARIANTS[m].task for m in members]
        assert len(tasks) == len(set(tasks)), members


def _build(root: Path, aid: str, members: tuple[str, ...], solutions) -> Path:
    folder = root / aid
    shutil.copytree(solutions(aid), folder, ignore=shutil.ignore_patterns("__pycache__"))
    for name in members:
        v: Variant = VARIANTS[name]
        splice_source(folder / v.file, v.code)
    return folder


def _unbanned():
    """The course with every ban taken away."""
    return dataclasses.replace(COURSE, assignments=tuple(
        dataclasses.replace(a, tasks=tuple(dataclasses.replace(t, banned=()) for t in a.tasks))
        for a in COURSE.assignments))


def _levels() -> list[tuple[str, str]]:
    """The best level this machine gives, the process level, and, where root can also make it the
    user-namespace way, the full level made that way."""
    best = detect("cpu")
    levels = [(best.level, "auto")]
    if best.level != "process":
        levels.append(("process", "auto"))
    if best.via == "root" and detect("cpu", "user-namespace").level == "full":
        levels.append(("full", "user-namespace"))
    return levels


@pytest.fixture(scope="module")
def honest_scores(solutions):
    return per_aid(lambda aid: {t.id: (t.status, t.score) for t in
                                grade(solutions(aid), COURSE, [aid], runner=runner_for("cpu")).assignments[0].tasks})


def per_aid(make):
    made: dict[str, dict] = {}

    def get(aid: str) -> dict:
        if aid not in made:
            made[aid] = make(aid)
        return made[aid]
    return get


@pytest.fixture(scope="module", params=range(len(GROUPS)), ids=GROUP_IDS)
def group(request, solutions, tmp_path_factory):
    aid, members = GROUPS[request.param]
    return aid, members, _build(tmp_path_factory.mktemp("hostile"), aid, members, solutions)


def test_every_variant_is_a_real_attack_when_nothing_is_banned(group):
    aid, members, folder = group
    result = grade(folder, _unbanned(), [aid], runner=InProcessRunner())
    tasks = {t.id: t for t in result.assignments[0].tasks}
    not_earned = {m: (tasks[VARIANTS[m].task].status, tasks[VARIANTS[m].task].feedback[:300])
                  for m in members if tasks[VARIANTS[m].task].score != tasks[VARIANTS[m].task].max_score}
    assert not_earned == {}


@pytest.mark.parametrize("level, via", _levels(), ids=lambda x: x)
def test_every_variant_scores_zero_through_the_cli_and_costs_no_other_task(group, level, via, honest_scores):
    aid, members, folder = group
    cmd = [sys.executable, "-m", "grader", "grade", str(folder), "--assignment", aid, "--format", "json",
           "--isolation", level, "--require-isolation", level, "--isolation-via", via]
    run = subprocess.run(cmd, capture_output=True, text=True, timeout=CLI_TIMEOUT_S, cwd=paths.ROOT)
    assert run.returncode in (0, 1), run.stderr[-2000:]
    data = json.loads(run.stdout)
    assert data["sandbox"]["level"] == level
    tasks = {t["id"]: t for t in data["assignments"][0]["tasks"]}
    attacked = {VARIANTS[m].task: m for m in members}
    outcome = {attacked[t]: (tasks[t]["status"], tasks[t]["score"]) for t in attacked}
    assert outcome == {m: ("banned", 0.0) for m in members}, \
        {attacked[t]: tasks[t]["feedback"][:300] for t in attacked if tasks[t]["status"] != "banned"}
    affected = set(attacked) | {c for t in attacked for c in _up(aid)[t]}
    others = {t: (d["status"], d["score"]) for t, d in tasks.items() if t not in affected}
    honest = {t: s for t, s in honest_scores(aid).items() if t not in affected}
    assert others == honest
