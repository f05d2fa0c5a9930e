"""The architecture as import rules: what crosses into the sandbox, what renderers read, what judging needs."""
from __future__ import annotations

import ast
import shutil
import sys
from pathlib import Path

from grader import paths
from grader.sandbox.resolve import imported_modules

GRADER = paths.ROOT / "grader"
THIRD_PARTY_IN_CHILD = {"torch", "numpy"}
# (folder or module, what its modules may import besides the standard library, what they must never import)
RULES = [
    ("tasks", THIRD_PARTY_IN_CHILD | {"grader.tasks"}, None),
    # the suites' catalogue is the grader's, not the child's (never copied into it): it reads the suites and the
    # cache folder that keeps their metadata, and torch only through a suite it loads
    ("tasks/catalogue.py", {"grader.tasks", "grader.cache"}, None),
    ("sandbox/inside", THIRD_PARTY_IN_CHILD | {"grader.tasks", "grader.sandbox.inside"}, None),
    # the sandbox runs code and says what happened; judging what it answered is the judge's
    ("sandbox", None, {"grader.judge", "grader.reports", "grader.authoring", "grader.quality", "grader.batch",
                       "grader.insights", "grader.cli", "grader.commands"}),
    # course.yaml read and its rules applied: yaml, torch for a value's dtype (named as grader/tasks/ names it),
    # and the bottom floor's modules; nothing that grades or runs anything
    ("course", {"yaml", "torch", "grader.course", "grader.tasks", "grader.cache", "grader.i18n", "grader.paths"}, None),
    # the result model (a grading, an audit, experiments) is a floor every room reads: it reads only itself, and
    # the words of a message in the reader's language
    ("results", {"grader.results", "grader.i18n"}, None),
    # matplotlib draws the HTML page's heatmaps (imported where they are drawn, so other formats never load it)
    # and the words around the values in the reader's language (grader/i18n.py)
    ("reports", {"rich", "matplotlib", "grader.results", "grader.reports", "grader.i18n"}, None),
    # the judge runs the reference's own near misses (quality's mutants, in process) for diagnoses, never the audit
    ("judge", None, {"grader.reports", "grader.authoring", "grader.quality.audit", "grader.batch"}),
    # a batch grades through the judge and records data; it renders nothing and needs no authoring or audit
    ("batch", None, {"grader.reports", "grader.authoring", "grader.quality", "grader.cli", "grader.commands"}),
    # insights read a gradebook and submissions' files: they render nothing, grade nothing, run no submission
    ("insights", None, {"grader.reports", "grader.authoring", "grader.quality", "grader.cli", "grader.commands",
                        "grader.sandbox", "grader.judge.pipeline"}),
]


def imports(path: Path, package: str) -> list[tuple[int, str]]:
    """Every module ``path`` imports (at any depth, relative imports resolved), with its line: read by the
    same reader as a submission's imports (:func:`grader.sandbox.resolve.imported_modules`)."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            names = imported_modules(node, package, _is_module)
            assert not isinstance(names, str), f"{path}:{node.lineno}: {names}"
            found += [(node.lineno, name) for name in names]
    return found


def _is_module(name: str) -> bool:
    """Whether ``name`` is one of the grader's modules or packages (``from grader import cache`` imports one)."""
    where = paths.ROOT.joinpath(*name.split("."))
    return name.startswith("grader.") and (where.with_suffix(".py").is_file() or where.is_dir())


def _under(name: str, prefixes: set[str]) -> bool:
    return any(name == p or name.startswith(p + ".") for p in prefixes)


def violations(grader_dir: Path) -> list[str]:
    problems = []
    own_rule = {folder for folder, _, _ in RULES if folder.endswith(".py")}  # a module with a rule of its own
    for folder, allowed, forbidden in RULES:
        base = grader_dir / folder
        for py in [base] if folder in own_rule else sorted(base.rglob("*.py")):
            if folder not in own_rule and py.relative_to(grader_dir).as_posix() in own_rule:
                continue
            rel = py.relative_to(grader_dir.parent)
            package = ".".join(rel.with_suffix("").parts[:-1])
            where = f"grader/{folder}" + ("" if folder in own_rule else "/")
            for line, name in imports(py, package):
                top = name.split(".")[0]
                if allowed is not None and top not in sys.stdlib_module_names and not _under(name, allowed):
                    problems.append(f"{rel}:{line}: {where} may not import {name}")
                if forbidden is not None and _under(name, forbidden):
                    problems.append(f"{rel}:{line}: {where} may not import {name}")
    return problems


def test_the_grader_keeps_its_import_rules():
    assert violations(GRADER) == []


def test_the_language_module_is_the_bottom_floor():
    """grader/i18n.py, which every floor above may use, imports nothing of the grader (Babel only for its tools)."""
    found = [n for _, n in imports(GRADER / "i18n.py", "grader")
             if n.split(".")[0] not in sys.stdlib_module_names and not _under(n, {"babel"})]
    assert found == []


def test_what_the_judge_takes_from_the_quality_room_never_reaches_back_to_the_judge():
    """The near-miss search takes the mutants (and what makes them) and the in-process runner from quality/:
    they import nothing of the judge, and of quality/ only each other (never the audit)."""
    taken = {"mutate", "edits", "classic", "misconceptions", "inprocess"}
    for name in taken:
        path = GRADER / "quality" / f"{name}.py"
        found = [n for _, n in imports(path, "grader.quality") if _under(n, {"grader.judge"})
                 or (_under(n, {"grader.quality"}) and n.removeprefix("grader.quality.").split(".")[0] not in taken)]
        assert not found, (name, found)


def test_a_broken_rule_is_reported_with_its_file_and_line(tmp_path):
    copy = tmp_path / "grader"
    shutil.copytree(GRADER, copy, ignore=shutil.ignore_patterns("__pycache__"))
    (copy / "tasks" / "model.py").write_text((GRADER / "tasks" / "model.py").read_text() + "\nimport yaml\n")
    (copy / "sandbox" / "inside" / "wire.py").write_text(
        (GRADER / "sandbox" / "inside" / "wire.py").read_text() + "\nfrom grader.judge import scoring\n")
    (copy / "judge" / "cases.py").write_text("from ..reports import text\n" + (GRADER / "judge" / "cases.py").read_text())
    (copy / "reports" / "text.py").write_text("from grader.judge.pipeline import grade\n" +
                                              (GRADER / "reports" / "text.py").read_text())
    (copy / "tasks" / "catalogue.py").write_text((GRADER / "tasks" / "catalogue.py").read_text() + "\nimport yaml\n")
    found = violations(copy)
    lines = len((GRADER / "tasks" / "model.py").read_text().splitlines())
    catalogue_lines = len((GRADER / "tasks" / "catalogue.py").read_text().splitlines())
    assert f"grader/tasks/catalogue.py:{catalogue_lines + 2}: grader/tasks/catalogue.py may not import yaml" in found
    assert f"grader/tasks/model.py:{lines + 2}: grader/tasks/ may not import yaml" in found
    assert any(p.startswith("grader/sandbox/inside/wire.py:") and p.endswith("may not import grader.judge.scoring")
               for p in found)
    assert "grader/judge/cases.py:1: grader/judge/ may not import grader.reports.text" in found
    assert "grader/reports/text.py:1: grader/reports/ may not import grader.judge.pipeline" in found
    assert any(p.startswith("grader/sandbox/inside/wire.py:") and p.endswith("grader/sandbox/ may not import "
                                                                           "grader.judge.scoring") for p in found)
    assert len(found) == 6  # the catalogue's import reported once, by its own rule
