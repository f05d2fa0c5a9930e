"""The JSON report: a result (a grading, an audit, reproduced experiments) with every field, nothing parsed
back out of messages."""
from __future__ import annotations

import dataclasses
import json
from typing import Any


def render(result: Any) -> str:
    """A dataclass result, or a list of them, as indented JSON."""
    if isinstance(result, list):
        data = [dataclasses.asdict(r) for r in result]
    else:
        data = dataclasses.asdict(result)
    return json.dumps(data, indent=2, allow_nan=False) + "\n"
