"""One suite module per assignment, named like the assignment: what each of its tasks checks."""
from __future__ import annotations

import importlib
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # listing the suites imports none of them, nor torch
    from grader.tasks.model import Suite

SUITES_DIR = Path(__file__).resolve().parent


def available() -> list[str]:
    return sorted(p.stem for p in SUITES_DIR.glob("a[0-9][0-9]_*.py"))


def load(assignment: str) -> Suite:
    return importlib.import_module(f"grader.tasks.suites.{assignment}").SUITE
