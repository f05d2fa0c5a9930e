"""The grader version a gradebook row was graded by: whatever can change a score, hashed.

A row stays graded while its submission, this version, the suite and the device are the same;
when any of them changes, the next batch grades the submission again. The version names
the package and torch (the reference's expected values are computed with torch), then two
hashes: the code that decides a grade (the judge, the sandbox, the tasks' suites and the
reference of the assignments graded, the course loader and the result model) and the
course's policy for those assignments (points, tolerances, limits, seeds, deadlines, late
policy) as parsed, so a comment or a reordered key in course.yaml regrades nothing. Code
that only renders, authors or schedules (reports, authoring, the CLI, this package) is left
out: changing it changes no score.
"""
from __future__ import annotations

import dataclasses
import functools
import hashlib
import importlib.metadata
import json

from grader import cache, paths
from grader.course.config import Course

GRADER = paths.ROOT / "grader"
DECIDING = ("judge", "sandbox", "course", "tasks")   # folders of grader/ whose code decides a score
NOT_GRADED = {"experiments.py", "test_public.py"}     # reference files no grading reads


@functools.lru_cache(maxsize=1)
def torch_version() -> str:
    """torch's version as its installation records it, found without importing torch (the coordinator and a
    worker that grades with its expected values cached never import it); torch's own ``__version__``
    where nothing records it."""
    try:
        return importlib.metadata.version("torch")
    except importlib.metadata.PackageNotFoundError:
        import torch
        return torch.__version__


def package_version() -> str:
    try:
        return importlib.metadata.version("deepgrade")
    except importlib.metadata.PackageNotFoundError:
        return "unknown"


@functools.lru_cache(maxsize=None)
def code_hash(ids: tuple[str, ...]) -> str:
    """SHA-256 of the grading code for these assignments: the other assignments' suites and reference
    are left out, so adding an assignment regrades nothing already graded."""
    files = [GRADER / "results" / "grading.py"]  # the result model a score is rounded in
    for folder in DECIDING:
        for p in sorted((GRADER / folder).rglob("*.py")):
            if p.parent.name == "suites" and p.stem != "__init__" and p.stem not in ids:
                continue
            files.append(p)
    for aid in ids:
        files += [p for p in sorted((paths.REFERENCE / aid).rglob("*.py")) if p.name not in NOT_GRADED]
    return cache.files_digest(files, paths.ROOT)


def policy_hash(course: Course, ids: tuple[str, ...]) -> str:
    """SHA-256 of course.yaml's policy for these assignments, as parsed (not where each line is)."""
    def plain(value):
        if dataclasses.is_dataclass(value):
            return {f.name: plain(getattr(value, f.name)) for f in dataclasses.fields(value)
                    if f.name not in ("line", "path")}
        if isinstance(value, (list, tuple)):
            return [plain(v) for v in value]
        if isinstance(value, dict):
            return {str(k): plain(v) for k, v in sorted(value.items())}
        return value if isinstance(value, (int, float, str, bool, type(None))) else str(value)
    policy = plain(dataclasses.replace(course, assignments=tuple(a for a in course.assignments if a.id in ids)))
    policy.pop("name", None)
    return hashlib.sha256(json.dumps(policy, sort_keys=True).encode()).hexdigest()


def grader_version(course: Course, ids: tuple[str, ...]) -> str:
    """``deepgrade 0.1.0 torch 2.13.0 code 1a2b3c4d5e6f course 6f5e4d3c2b1a``."""
    return (f"deepgrade {package_version()} torch {torch_version()} code {code_hash(ids)[:12]} "
            f"course {policy_hash(course, ids)[:12]}")


def code_version(ids: tuple[str, ...]) -> str:
    """The part of :func:`grader_version` a worker checks against its own checkout."""
    return f"deepgrade {package_version()} torch {torch_version()} code {code_hash(ids)[:12]}"
