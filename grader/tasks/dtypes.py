"""Dtypes by the names course.yaml's tolerances and the wire format write them (``float64``, ``bfloat16``).

The wire format (:mod:`grader.sandbox.inside.wire`) sends only these dtypes; the course's policy
(:mod:`grader.course.policy`) and the comparison name a value's dtype the same way.
"""
from __future__ import annotations

import torch

BY_NAME: dict[str, torch.dtype] = {
    "float64": torch.float64, "float32": torch.float32, "float16": torch.float16,
    "bfloat16": torch.bfloat16, "int64": torch.int64, "int32": torch.int32,
    "int16": torch.int16, "int8": torch.int8, "uint8": torch.uint8, "bool": torch.bool,
    "complex64": torch.complex64, "complex128": torch.complex128,
}
NAMES: dict[torch.dtype, str] = {v: k for k, v in BY_NAME.items()}


def dtype_name(dtype: torch.dtype) -> str:
    """``float64`` for ``torch.float64``; a dtype the wire does not send, as torch writes it without ``torch.``."""
    return NAMES.get(dtype, str(dtype).split(".")[-1])
