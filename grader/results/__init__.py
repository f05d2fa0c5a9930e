"""The result model every renderer and gradebook reads: a grading (:mod:`.grading`), an audit of the
suites (:mod:`.audit`), reproduced experiments (:mod:`.experiments`). Renderers read only this.

Every fact a renderer or a gradebook needs is a field (a status, the suite and case of a
failure, the late penalty, why an assignment was not graded), never a phrase to find in a
message. Messages are for people. The names are all here: ``from grader.results import X``.
"""
from __future__ import annotations

from grader.results.audit import (KILL_RATE_FAIL_UNDER, AlternativeAudit, AssignmentAudit, AuditSample, Counts,
                                  FalseFailure, MutantOutcome, TaskAudit, kill_rate)
from grader.results.experiments import ExperimentRow
from grader.results.grading import (AssignmentError, AssignmentResult, CheckKind, CheckResult, Diagnosis,
                                    DiagnosisKind, ErrorMap, GradingResult, Late, RunStatus, SandboxInfo, Status,
                                    TaskResult, UnreadableReports, points, read_reports)

__all__ = ["AlternativeAudit", "AssignmentAudit", "AssignmentError", "AssignmentResult", "AuditSample", "CheckKind",
           "CheckResult", "Counts", "Diagnosis", "DiagnosisKind", "ErrorMap", "ExperimentRow", "FalseFailure",
           "GradingResult", "KILL_RATE_FAIL_UNDER", "Late", "MutantOutcome", "RunStatus", "SandboxInfo", "Status",
           "TaskAudit", "TaskResult", "UnreadableReports", "kill_rate", "points", "read_reports"]
