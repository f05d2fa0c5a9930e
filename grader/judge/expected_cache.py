"""The reference's outputs on a suite's cases, computed once and kept in the instructor's cache folder.

Every grading of an assignment plans the same cases: inputs drawn from the suites' seeds, and the
reference's outputs on them. Both are kept, one file per assignment and suite, in the cache folder
(:mod:`grader.cache`: ``$DEEPGRADE_CACHE_DIR``, else ``$XDG_CACHE_HOME/deepgrade``, else
``~/.cache/deepgrade``, mode 0700). A file is used only when its key is the one this grading would
compute it under: the assignment, the suite's seed and number of cases, the tasks graded, the
reference's sources, the grader's own task definitions, the versions of Python, torch, numpy, scipy
and scikit-learn, torch's default dtype and where the reference ran. Anything else (another key, a
digest that does not match the bytes, a file that does not read as an entry) is refused and computed
again; a folder that cannot be used only costs the time of computing. A student repository never
comes here: its frozen fixtures are its public suite's cache (:mod:`grader.judge.fixtures`).

An entry is one message of the sandbox's wire format, ``{task id: [{"suite", "index", "inputs",
"expected"}, ...]}``, under :mod:`grader.cache`'s header line (format, key, digest).
"""
from __future__ import annotations

import importlib.util
import json
from pathlib import Path
from typing import Any

from grader import cache, paths
from grader.course.config import AssignmentConfig, Course
from grader.judge.cases import Case, CasesAndExpected, computed_cases, memory, suite_names
from grader.tasks.arrays import Array, torch_loaded, tree_of


FORMAT = "deepgrade-expected/1"
# What decides the cases and the reference's outputs, besides the reference: the grader's task definitions
# (the suites, their input generators, the task model) and how the outputs are computed.
GRADER_SOURCES = ("grader/tasks", "grader/judge/cases.py")
REFERENCE_RUNS_ON = "cpu"  # the reference's outputs are computed on the CPU whatever the grading's device


def planned(course: Course, cfg: AssignmentConfig, which: str) -> CasesAndExpected:
    """Each task's cases and the reference's outputs on them, as :func:`computed_cases` gives them, tensors
    as :class:`~grader.tasks.arrays.Array`: from the cache where it holds them under this grading's key (no
    torch needed), else computed (torch imported, the suite and the reference run) and kept for the next one."""
    cases: dict[str, list[Case]] = {t.id: [] for t in cfg.tasks}
    expected: dict[str, list[dict[str, Any]]] = {t.id: [] for t in cfg.tasks}
    folder = cache.folder()
    remembered = memory()  # a process that grades again and again reads each entry once
    for name in suite_names(which):
        if name not in course.suites:  # computing says that course.yaml has no such suite
            return _computed(course, cfg, which)
        key = entry_key(course, cfg, name)
        kept = folder is not None and bool(key["reference"])  # no reference: computing says why it cannot
        known = (FORMAT, json.dumps(key, sort_keys=True))
        part = remembered.get(known) if remembered is not None else None
        if part is None and kept:
            part = read(entry_path(folder, cfg.id, name), key, cfg, course.suites[name].cases)
        if part is None:
            part = _computed(course, cfg, name)
            if kept:
                write(entry_path(folder, cfg.id, name), key, part)
        if remembered is not None:
            remembered[known] = part
        for tid in cases:
            cases[tid] += part[0][tid]
            expected[tid] += part[1][tid]
    return cases, expected


def _computed(course: Course, cfg: AssignmentConfig, which: str) -> CasesAndExpected:
    """:func:`computed_cases`, its tensors as the grading process holds them."""
    from grader.tasks import suites

    cases, expected = computed_cases(course, cfg, suites.load(cfg.id), which)
    return ({tid: [Case(c.suite, c.index, tree_of(c.inputs)) for c in made] for tid, made in cases.items()},
            {tid: [tree_of(e) for e in outs] for tid, outs in expected.items()})


def entry_path(folder: Path, assignment: str, name: str) -> Path:
    return folder / f"expected-{assignment}-{name}.bin"


def entry_key(course: Course, cfg: AssignmentConfig, name: str) -> dict[str, Any]:
    """Everything that decides one suite's cases and the reference's outputs on them."""
    torch = torch_loaded()  # loaded: its default dtype may have been changed; not (or not yet): it is float32
    dtype = str(torch.get_default_dtype()) if torch else "torch.float32"
    return {"format": FORMAT, "assignment": cfg.id, "suite": name, "seed": course.suites[name].seed,
            "cases": course.suites[name].cases, "tasks": [t.id for t in cfg.tasks],
            "reference": _reference_digest(cfg.id), "grader": _grader_digest(), "versions": cache.versions(),
            "default_dtype": dtype, "device": REFERENCE_RUNS_ON}


def read(path: Path, key: dict[str, Any], cfg: AssignmentConfig, count: int) -> CasesAndExpected | None:
    """The entry at ``path`` when it was written for ``key`` and reads back whole; else None (computed again)."""
    from grader.sandbox.inside import wire

    body = cache.read(path, FORMAT, key)
    if body is None:
        return None
    try:
        return _planned(wire.decode(body, tensors=False), cfg, key["suite"], count)
    except ValueError as e:  # wire.WireError is a ValueError
        cache.say(f"grader: {path}: refused ({e}): the expected values are computed again")
        return None


def _planned(tree: Any, cfg: AssignmentConfig, name: str, count: int) -> CasesAndExpected:
    """The cases of an entry's tree, checked to be this suite's, every task's, each with its outputs."""
    if not isinstance(tree, dict) or list(tree) != [t.id for t in cfg.tasks]:
        raise ValueError("its tasks are not the assignment's")
    cases: dict[str, list[Case]] = {}
    expected: dict[str, list[dict[str, Any]]] = {}
    for tid, entries in tree.items():
        if not isinstance(entries, list) or len(entries) != count:
            raise ValueError(f"{tid} has not {count} cases")
        for i, e in enumerate(entries):
            if not isinstance(e, dict) or e.get("suite") != name or e.get("index") != i \
                    or not isinstance(e.get("inputs"), dict) or not isinstance(e.get("expected"), dict) \
                    or not all(type(v) is Array for v in e["expected"].values()):
                raise ValueError(f"{tid}'s case {i} is not a case with its outputs")
        cases[tid] = [Case(name, i, e["inputs"]) for i, e in enumerate(entries)]
        expected[tid] = [e["expected"] for e in entries]
    return cases, expected


def write(path: Path, key: dict[str, Any], part: CasesAndExpected) -> None:
    """Keep one suite's cases and outputs under ``key``, where they read back exactly; a file is replaced
    whole (a reader never sees half of one), and one that cannot be written only costs time."""
    from grader.judge.fixtures import differs
    from grader.sandbox.inside import wire

    cases, expected = part
    tree = {tid: [{"suite": c.suite, "index": c.index, "inputs": c.inputs, "expected": e}
                  for c, e in zip(cases[tid], expected[tid])] for tid in cases}
    try:
        body = wire.encode(tree)
    except (TypeError, ValueError):
        return
    if differs(tree, wire.decode(body, tensors=False), ""):
        return  # something the wire format does not carry exactly: such cases are computed each time
    cache.write(path, FORMAT, key, body)


def _reference_digest(assignment: str) -> str:
    """The digest of the reference package the outputs are computed with (the one Python imports)."""
    spec = importlib.util.find_spec("reference")
    folders = spec.submodule_search_locations if spec and spec.submodule_search_locations else []
    return cache.tree_digest(str(Path(folders[0]) / assignment)) if folders else ""


def _grader_digest() -> str:
    return cache.digest([cache.tree_digest(str(paths.ROOT / p)) for p in GRADER_SOURCES], b"")
