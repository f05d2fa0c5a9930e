"""The JSON report: a result (a grading, an audit, reproduced experiments) with every field, nothing parsed
back out of messages."""
from __future__ import annotations

import dataclasses
import json
from typing import Any

from grader.i18n import ENGLISH, current


def render(result: Any) -> str:
    """A dataclass result, or a list of them, as indented JSON."""
    if isinstance(result, list):
        data = [dataclasses.asdict(r) for r in result]
    else:
        data = dataclasses.asdict(result)
    # Machine fields (statuses, kinds) are English names in every language; messages are in the reader's. Text in
    # another language than English is written as its characters, not as \u escapes, so the file reads as it is.
    return json.dumps(data, indent=2, allow_nan=False, ensure_ascii=current() == ENGLISH) + "\n"
