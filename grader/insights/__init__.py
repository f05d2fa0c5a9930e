"""An instructor's view of a graded class: the numbers at a glance, what the class got wrong, who wrote alike.

Reads a gradebook written by ``grader batch`` (never writes it) and, given, the submissions folder it
was graded from; returns plain data (:mod:`grader.insights.model`) that ``grader.reports.insights``
renders as a page or JSON. Nothing here runs a submission's code.
"""
from __future__ import annotations

from grader.insights.analysis import analyse
from grader.insights.statistics import InsightsError

__all__ = ["InsightsError", "analyse"]
