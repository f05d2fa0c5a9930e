"""The rules course.yaml sets, applied: the late penalty and the tolerance a value is held to."""
from __future__ import annotations

import datetime as dt
from typing import Any

from grader.course.config import Course, LatePolicy
from grader.tasks.arrays import of


def late_penalty(policy: LatePolicy, deadline: dt.datetime | None, submitted: dt.datetime | None) -> float:
    """The fraction of the score lost: per started day after the deadline plus grace, capped."""
    if deadline is None or submitted is None:
        return 0.0
    late_by = submitted - deadline - dt.timedelta(minutes=policy.grace_minutes)
    if late_by <= dt.timedelta(0):
        return 0.0
    days = -(-late_by // dt.timedelta(days=1))  # started days
    return min(policy.cap, days * policy.penalty_per_day)


def tolerance(course: Course, ref: Any, device: str) -> tuple[float, float]:
    """(rtol, atol) for a reference value (an :class:`~grader.tasks.arrays.Array`, or a torch tensor): by its
    dtype and the device, never the student's dtype. Integers and booleans are compared exactly."""
    ref = of(ref)
    if not ref.is_floating_point():
        return 0.0, 0.0
    name = ref.dtype
    return course.tolerance(name if name in course.tolerances else "float32", device)
