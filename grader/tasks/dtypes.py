"""Dtypes by the names course.yaml's tolerances and the wire format write them (``float64``, ``bfloat16``).

The wire format (:mod:`grader.sandbox.inside.wire`) sends only these dtypes; the course's policy
(:mod:`grader.course.policy`) and the comparison name a value's dtype the same way. Importing this
module imports no torch: the grading process knows a dtype by its name and holds the numbers in
numpy (:mod:`grader.tasks.arrays`); torch's dtypes are looked up where torch is loaded.
"""
from __future__ import annotations

import functools
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    import torch

# name -> (bytes per element, the numpy dtype its numbers are held in by the grading process). bfloat16 has
# no numpy dtype: its values are held as float32 (exactly: a bfloat16 is the top half of a float32).
SIZES: dict[str, tuple[int, Any]] = {
    "float64": (8, np.float64), "float32": (4, np.float32), "float16": (2, np.float16),
    "bfloat16": (2, np.float32), "int64": (8, np.int64), "int32": (4, np.int32),
    "int16": (2, np.int16), "int8": (1, np.int8), "uint8": (1, np.uint8), "bool": (1, np.bool_),
    "complex64": (8, np.complex64), "complex128": (16, np.complex128),
}
FLOATING = frozenset({"float64", "float32", "float16", "bfloat16"})  # as torch's is_floating_point


@functools.lru_cache(maxsize=1)
def by_name() -> dict[str, torch.dtype]:
    """torch's dtype for each name (imports torch)."""
    import torch

    return {name: getattr(torch, name) for name in SIZES}


@functools.lru_cache(maxsize=1)
def names() -> dict[torch.dtype, str]:
    """The name of each torch dtype the wire sends (imports torch)."""
    return {v: k for k, v in by_name().items()}
