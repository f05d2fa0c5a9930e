"""deepgrade's grader: grades submissions numerically against the reference, in a sandbox.

Typed API: ``config.load(path) -> Course``; ``runner_for(device) -> SandboxRunner``, the sandbox a grading
runs in; ``grade(path, course, ..., runner=runner) -> GradingResult``.

The names are loaded when first used: a command that grades nothing (``grader --help``, ``validate``,
``export``) never imports the judge, nor torch through it.
"""
from __future__ import annotations

import importlib
from typing import Any

_WHERE = {"grade": "grader.judge.pipeline", "GradingError": "grader.judge.cases", "runner_for": "grader.sandbox.session",
          "load": "grader.course.config", "Course": "grader.course.config", "ConfigError": "grader.course.config",
          "GradingResult": "grader.results", "AssignmentResult": "grader.results", "TaskResult": "grader.results",
          "CheckResult": "grader.results"}

__all__ = ["grade", "runner_for", "load", "Course", "ConfigError", "GradingError", "GradingResult",
           "AssignmentResult", "TaskResult", "CheckResult"]


def __getattr__(name: str) -> Any:
    if name not in _WHERE:
        raise AttributeError(f"module 'grader' has no attribute {name!r}")
    return getattr(importlib.import_module(_WHERE[name]), name)
