"""Frozen public cases: each task's inputs and the reference's outputs, for a repository without the reference.

A student repository (``grader release --student-repo``) ships no ``reference/``, so it cannot compute
expected values; it ships them instead, one file per assignment, ``fixtures/<id>/public.bin`` beside
its ``course.yaml``. The file is one message of the sandbox's wire format (JSON header, raw array
bytes, nothing unpickled or evaluated): the tree ``{"format", "assignment", "suite", "seed", "cases",
"tasks": {task id: [{"inputs": ..., "expected": ...}, ...]}}``. The public suite only: there is no
way to freeze the hidden one. Grading reads the cases from here and scores them exactly as it
scores computed ones.
"""
from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from grader.course.config import AssignmentConfig, Course
from grader.judge.cases import Case, CasesAndExpected, GradingError, computed_cases
from grader.sandbox.inside import wire
from grader.tasks.arrays import Array, of

if TYPE_CHECKING:
    from grader.tasks.model import Suite

FORMAT = "deepgrade-fixtures/1"
FOLDER = "fixtures"  # beside course.yaml
SUITE = "public"     # the only suite ever frozen


def folder(course: Course) -> Path:
    return course.path.parent / FOLDER


def present(course: Course) -> bool:
    """Whether ``course`` is a student repository's: frozen cases beside its course.yaml take the
    reference's place (even where a reference happens to be importable)."""
    return folder(course).is_dir()


def path(course: Course, assignment: str) -> Path:
    return folder(course) / assignment / f"{SUITE}.bin"


def require_public(course: Course, which: str) -> None:
    """A student repository grades the public suite only; asking for more is an error that says why."""
    if present(course) and which != SUITE:
        raise GradingError(f"this repository holds the public suite only (frozen in {folder(course)}): the "
                           f"hidden suite is graded by the course's instructors, so --suite {which} cannot run here")


def freeze(course: Course, cfg: AssignmentConfig, suite: Suite) -> bytes:
    """The fixture file of one assignment: its public cases computed from the reference, as they are
    graded. Fails (ValueError) when an input or output is something the wire format cannot carry
    exactly, so a fixture never grades differently from the reference."""
    cases, expected = computed_cases(course, cfg, suite, SUITE)
    tasks = {tid: [{"inputs": c.inputs, "expected": e} for c, e in zip(cases[tid], expected[tid])] for tid in cases}
    public = course.suites[SUITE]
    tree = {"format": FORMAT, "assignment": cfg.id, "suite": SUITE, "seed": public.seed, "cases": public.cases,
            "tasks": tasks}
    data = wire.encode(tree)
    problem = differs(tasks, wire.decode(data, tensors=False)["tasks"], "")
    if problem:
        raise ValueError(f"{cfg.id}: the public cases cannot be frozen exactly: {problem}")
    return data


def differs(a: Any, b: Any, where: str) -> str:
    """Where ``b`` (after the wire) is not ``a`` ("" when equal; a tuple may come back as a list; a tensor
    as an :class:`~grader.tasks.arrays.Array` or torch's, the same bit for bit: NaN is NaN, -0.0 is not 0.0)."""
    a, b = of(a), of(b)
    if type(a) is Array:
        if type(b) is not Array or a.dtype != b.dtype or a.shape != b.shape or a.to_bytes() != b.to_bytes():
            return f"{where}: the tensor does not come back bit for bit"
        return ""
    if isinstance(a, dict):
        if not isinstance(b, dict) or list(a) != list(b):
            return f"{where}: the keys change"
        return next((p for k in a if (p := differs(a[k], b[k], f"{where}.{k}" if where else k))), "")
    if isinstance(a, (list, tuple)):
        if not isinstance(b, list) or len(a) != len(b):
            return f"{where}: the sequence changes"
        return next((p for i, (x, y) in enumerate(zip(a, b)) if (p := differs(x, y, f"{where}.{i}"))), "")
    if type(a) is not type(b) or a != b:
        return f"{where}: {type(a).__name__} {a!r:.40} comes back as {b!r:.40}"
    return ""


def read(course: Course, cfg: AssignmentConfig, which: str) -> CasesAndExpected:
    """The frozen public cases of ``cfg``'s tasks and their expected outputs, checked against course.yaml:
    a file frozen from another seed, another number of cases or other tasks is refused, naming the fix."""
    require_public(course, which)
    file = path(course, cfg.id)
    redo = "export the student repository again (grader release --student-repo)"
    if not file.is_file():
        raise GradingError(f"{file}: missing: the frozen public cases of {cfg.id} (no reference here to compute "
                           f"them); {redo}")
    try:
        tree = wire.decode(file.read_bytes(), tensors=False)
        header = (tree["format"], tree["assignment"], tree["suite"], tree["seed"], tree["cases"])
        frozen = tree["tasks"]
    except (wire.WireError, TypeError, KeyError) as e:
        raise GradingError(f"{file}: not a fixtures file ({type(e).__name__}: {e})") from None
    public = course.suites[SUITE]
    if header != (FORMAT, cfg.id, SUITE, public.seed, public.cases):
        raise GradingError(f"{file}: frozen for {header[1]}'s {header[2]} suite (seed {header[3]}, {header[4]} cases, "
                           f"{header[0]}), but {course.path} asks for {cfg.id}'s (seed {public.seed}, {public.cases} "
                           f"cases, {FORMAT}); {redo}")
    cases: dict[str, list[Case]] = {}
    expected: dict[str, list[dict[str, Array]]] = {}
    for tcfg in cfg.tasks:
        entries = frozen.get(tcfg.id) if isinstance(frozen, dict) else None
        if not isinstance(entries, list) or len(entries) != public.cases or not all(_entry(e) for e in entries):
            raise GradingError(f"{file}: no {public.cases} frozen cases for {tcfg.id}; {redo}")
        cases[tcfg.id] = [Case(SUITE, i, e["inputs"]) for i, e in enumerate(entries)]
        expected[tcfg.id] = [e["expected"] for e in entries]
    return cases, expected


def _entry(e: Any) -> bool:
    return isinstance(e, dict) and isinstance(e.get("inputs"), dict) and isinstance(e.get("expected"), dict) \
        and all(type(v) is Array for v in e["expected"].values())
