"""Run an assignment's experiments (the reference's, or a submission's) and compare with the published numbers."""
from __future__ import annotations

import contextlib
import importlib
import importlib.util
import sys
from pathlib import Path
from types import ModuleType
from typing import Callable, Iterator

from grader.course.config import AssignmentConfig, Course
from grader.results import ExperimentRow


def has_experiments(aid: str) -> bool:
    return importlib.util.find_spec(f"reference.{aid}.experiments") is not None


def reproduce(course: Course, ids: list[str], plots: Path | None = None,
              progress: Callable[[str], None] | None = None, submission: Path | None = None,
              wrote: Callable[[str], None] | None = None) -> list[ExperimentRow]:
    """Each chosen assignment's ``experiments.run(plots)``, as rows beside the published numbers.

    ``submission``: a folder laid out like ``assignments/`` (or one assignment's folder) whose
    ``experiments.py`` runs instead of the reference's, on the submission's own functions. It
    runs in this process, not in the sandbox: it is for running one's own code. ``progress``
    hears what runs; ``wrote``, every figure written under ``plots``.
    """
    chosen = [course.assignment(i) for i in ids] if ids else [a for a in course.assignments if a.available]
    rows = []
    for cfg in chosen:
        with experiments(cfg.id, submission) as module:
            if progress:
                progress(f"reproducing {cfg.id} ({'reference/' if submission is None else submission})")
            before = _files(plots)
            for r in _run(cfg, module, plots):
                rows.append(ExperimentRow(cfg.id, r["quantity"], r["published"], r["ours"], bool(r["ok"])))
            if wrote:
                for path in sorted(p for p, stamp in _files(plots).items() if before.get(p) != stamp):
                    wrote(f"{cfg.id}: wrote {path}")
    return rows


@contextlib.contextmanager
def experiments(aid: str, submission: Path | None) -> Iterator[ModuleType]:
    """The ``experiments`` module of ``reference/<aid>/``, or of the submission's ``<aid>/`` loaded as a
    package of its own (its relative imports reach the submission's files), forgotten afterwards."""
    if submission is None:
        if not has_experiments(aid):
            raise LookupError(f"{aid} has no reproducible experiments yet")
        yield importlib.import_module(f"reference.{aid}.experiments")
        return
    if not Path(submission).is_dir():
        raise LookupError(f"no such folder: {submission}")
    folder = next((f for f in (Path(submission), Path(submission) / aid) if f.name == aid and f.is_dir()), None)
    if folder is None or not (folder / "experiments.py").is_file():
        raise LookupError(f"no {aid}/experiments.py in {submission}")
    name = f"_experiments_{aid}"  # not the assignment's own name: that may be imported from elsewhere
    spec = importlib.util.spec_from_file_location(name, folder / "__init__.py",
                                                  submodule_search_locations=[str(folder)])
    package = importlib.util.module_from_spec(spec)
    sys.modules[name] = package
    try:
        if (folder / "__init__.py").is_file():
            spec.loader.exec_module(package)
        yield importlib.import_module(f"{name}.experiments")
    finally:
        for key in [k for k in sys.modules if k == name or k.startswith(name + ".")]:
            del sys.modules[key]


def _run(cfg: AssignmentConfig, module: ModuleType, plots: Path | None) -> list[dict]:
    try:
        return module.run(plots)
    except NotImplementedError as e:
        task = e.args[0] if e.args else None
        if task not in {t.id for t in cfg.tasks}:
            raise
        raise LookupError(f"{cfg.id}: the experiments call {task}, which is not implemented yet") from None


def _files(folder: Path | None) -> dict[Path, int]:
    """Every file under ``folder`` and when it was last written (nothing when there is no folder)."""
    if folder is None or not Path(folder).is_dir():
        return {}
    return {p: p.stat().st_mtime_ns for p in Path(folder).rglob("*") if p.is_file()}
