"""Reproduced experiments (``grader reproduce``): each quantity beside its published value."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class ExperimentRow:
    """One reproduced quantity of an assignment's experiments, beside its published value."""

    assignment: str
    quantity: str
    published: Any
    ours: Any
    ok: bool
