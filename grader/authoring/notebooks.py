"""nbgrader notebooks from the reference, in an nbgrader course directory: one per assignment.

Each module of the assignment becomes a solution cell (``%%writefile <id>/<module>.py`` and the
source with its ``### BEGIN SOLUTION`` markers, which ``nbgrader generate_assignment`` turns
into stubs); each task becomes a locked, autograded cell worth the task's points that calls
:func:`grader.student.check`, which grades the written files in the sandbox with the grader's
public suite and outputs the task's points (nbgrader's partial credit). Beside ``source/`` goes
``nbgrader_config.py``, so ``nbgrader generate_assignment`` and ``nbgrader autograde`` run there
as they are.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from grader.course.config import Course

SCHEMA_VERSION = 3
SKIP = {"__init__.py", "test_public.py"}
CONFIG = "nbgrader_config.py"
COURSE_ID = "deepgrade"  # the key nbgrader's exchange files the course under
KERNEL_START_S = 60  # a grade cell's margin over the assignment's budget: the kernel's imports, the sandbox's probe


def _meta(grade_id: str, *, solution: bool, grade: bool, locked: bool, points: float | None = None) -> dict:
    meta = {"grade": grade, "grade_id": grade_id, "locked": locked, "schema_version": SCHEMA_VERSION,
            "solution": solution, "task": False}
    if points is not None:
        meta["points"] = points
    return {"nbgrader": meta}


def grade_id(task_id: str) -> str:
    return task_id.replace(".", "-")


def build(course: Course, aid: str, reference_dir: Path) -> nbformat.NotebookNode:
    cfg = course.assignment(aid)
    cells = [new_markdown_cell(
        f"# {cfg.id}: {cfg.title}\n\nFill in the functions marked `YOUR CODE HERE` in the cells below, "
        "run each cell to write its file, then run the grade cells: each grades your code on the "
        "public suite in a sandbox and prints the diagnosis of anything wrong.",
        metadata=_meta(f"{aid}-intro", solution=False, grade=False, locked=True))]
    support = [p for p in sorted(reference_dir.glob("*.py")) if p.name == "__init__.py" or p.name == "experiments.py"]
    setup = ["import os", f"os.makedirs({aid!r}, exist_ok=True)"]
    for path in support:
        setup.append(f"with open({f'{aid}/{path.name}'!r}, 'w') as f:\n    f.write({path.read_text()!r})")
    cells.append(new_code_cell("\n".join(setup), metadata=_meta(f"{aid}-setup", solution=False, grade=False,
                                                                 locked=True)))
    for path in sorted(reference_dir.glob("*.py")):
        if path.name in SKIP or path.name == "experiments.py":
            continue
        cells.append(new_markdown_cell(f"## {path.name}", metadata=_meta(f"{aid}-{path.stem}-title", solution=False,
                                                                          grade=False, locked=True)))
        cells.append(new_code_cell(f"%%writefile {aid}/{path.name}\n{path.read_text()}",
                                   metadata=_meta(f"{aid}-{path.stem}", solution=True, grade=False, locked=False)))
    cells.append(new_markdown_cell("## Grade cells", metadata=_meta(f"{aid}-grade-title", solution=False,
                                                                     grade=False, locked=True)))
    for task in cfg.tasks:
        cells.append(new_code_cell(f"from grader.student import check\ncheck({task.id!r}, {aid!r})",
                                   metadata=_meta(grade_id(task.id), solution=False, grade=True, locked=True,
                                                  points=task.points)))
    nb = new_notebook(cells=cells, metadata={"kernelspec": {"name": "python3", "display_name": "Python 3",
                                                            "language": "python"}})
    nbformat.validate(nb)
    return nb


@dataclass
class CourseDirectory:
    """What ``grader release --notebooks DIR`` wrote: an nbgrader course directory."""

    notebooks: list[Path]  # DIR/source/<id>/<id>.ipynb
    config: Path           # DIR/nbgrader_config.py
    config_kept: bool      # one that differs was there already: left as it was (the instructor's own)

    def describe(self, folder: Path) -> str:
        return (f"wrote {len(self.notebooks)} nbgrader source notebooks to {folder / 'source'}"
                + (f"; kept {self.config}, which differs from the one release writes (delete it to have that one)"
                   if self.config_kept else f" and {self.config}")
                + f": {folder} is an nbgrader course directory (run nbgrader there)")


def config_text(course: Course) -> str:
    """``nbgrader_config.py``: the course's key, and a cell timeout that lets the first grade cell
    grade the whole assignment (it may take up to the course's assignment budget)."""
    timeout = int(course.budgets.assignment_s) + KERNEL_START_S
    return (
        '"""nbgrader\'s configuration of this course directory, written by `grader release --notebooks`.\n\n'
        "Run nbgrader in this folder with the Python the grader is installed in (the course's .venv): the\n"
        "notebooks run in that Python's python3 kernel, whose grade cells grade in the grader's sandbox.\n"
        '"""\n'
        "c = get_config()  # noqa: F821 (nbgrader defines it)\n\n"
        f"c.CourseDirectory.course_id = {COURSE_ID!r}\n"
        "# The first grade cell grades the whole assignment, which course.yaml's assignment budget bounds;\n"
        "# the margin is the kernel's start. A cell still running past it is stopped and scores zero.\n"
        f"c.Execute.timeout = {timeout}\n"
    )


def write(course: Course, reference_root: Path, out: Path, ids: list[str]) -> CourseDirectory:
    """Make ``out`` an nbgrader course directory: ``out/source/<id>/<id>.ipynb`` for each assignment,
    and ``out/nbgrader_config.py`` unless a different one is there already (never overwritten)."""
    written = []
    for aid in ids:
        target = out / "source" / aid / f"{aid}.ipynb"
        target.parent.mkdir(parents=True, exist_ok=True)
        nbformat.write(build(course, aid, reference_root / aid), str(target))
        written.append(target)
    config, text = out / CONFIG, config_text(course)
    kept = config.exists() and config.read_text(encoding="utf-8") != text
    if not kept:
        config.write_text(text, encoding="utf-8")
    return CourseDirectory(written, config, kept)
