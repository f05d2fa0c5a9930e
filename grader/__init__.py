"""deepgrade's grader: grades submissions numerically against the reference, in a sandbox.

Typed API: ``grade(path, course, ...) -> GradingResult``; ``config.load(path) -> Course``.
"""
from grader.course.config import ConfigError, Course, load
from grader.judge.pipeline import GradingError, grade
from grader.results import AssignmentResult, CheckResult, GradingResult, TaskResult

__all__ = ["grade", "load", "Course", "ConfigError", "GradingError", "GradingResult",
           "AssignmentResult", "TaskResult", "CheckResult"]
