"""Tensors as the grading process holds them: the numbers in numpy, torch's dtype by its name.

Only the sandboxed child and the reference need torch. The grading process plans, compares, scores
and reports on :class:`Array` values: the wire format decodes a tensor into one
(:func:`grader.sandbox.inside.wire.decode` with ``tensors=False``), the expected values' cache and a
student repository's frozen fixtures hold them, and a torch tensor the grading process made itself
(the reference computed here, a run in this process) becomes one at the door (:func:`of`). A
diagnosis that needs torch's operations turns them back (:func:`to_torch`), importing torch then.
"""
from __future__ import annotations

import sys
from typing import Any

import numpy as np

from grader.tasks.dtypes import FLOATING, SIZES


class Array:
    """A tensor's dtype name (``float32``, ``bfloat16``, ...) and its values (a numpy array; float32 for a
    bfloat16). Never changed once made."""

    __slots__ = ("values", "dtype")

    def __init__(self, values: np.ndarray, dtype: str):
        if dtype not in SIZES:
            raise ValueError(f"no such dtype: {dtype}")
        self.values = values
        self.dtype = dtype

    @property
    def shape(self) -> tuple[int, ...]:
        return tuple(self.values.shape)

    def numel(self) -> int:
        return int(self.values.size)

    def is_floating_point(self) -> bool:
        return self.dtype in FLOATING

    def to_bytes(self) -> bytes:
        """The tensor's bytes as torch lays them out (row-major, native order; a bfloat16's two bytes)."""
        v = np.ascontiguousarray(self.values)
        if self.dtype == "bfloat16":
            return (v.astype(np.float32).view(np.uint32) >> 16).astype(np.uint16).tobytes()
        return v.astype(SIZES[self.dtype][1], copy=False).tobytes()

    @classmethod
    def from_bytes(cls, data: bytes | bytearray | memoryview, dtype: str, shape: list[int]) -> Array:
        """The inverse of :meth:`to_bytes` (``data`` of exactly the right size)."""
        if dtype == "bfloat16":
            values = (np.frombuffer(data, dtype=np.uint16).astype(np.uint32) << 16).view(np.float32)
        else:
            values = np.frombuffer(data, dtype=SIZES[dtype][1])
        return cls(values.reshape(shape), dtype)

    def __repr__(self) -> str:
        return f"Array({self.values!r}, dtype={self.dtype})"


def torch_loaded() -> Any:
    """torch, when this process has imported it; else None (then nothing it holds is a torch tensor). A torch
    another thread is still importing counts as not loaded: nothing of it exists yet, and its names are not
    all there."""
    torch = sys.modules.get("torch")
    return None if torch is None or getattr(getattr(torch, "__spec__", None), "_initializing", False) else torch


def of(x: Any) -> Any:
    """``x`` as the grading process holds it: a ``torch.Tensor`` (exactly that type) as an :class:`Array`,
    anything else unchanged (a tensor subclass stays what it is: it is reported, never trusted)."""
    torch = torch_loaded()
    if torch is None or type(x) is not torch.Tensor:
        return x
    from grader.tasks.dtypes import names

    name = names().get(x.dtype)
    if name is None:
        return x
    t = x.detach().to("cpu")
    if name == "bfloat16":
        t = t.to(torch.float32)
    return Array(t.contiguous().numpy().copy(), name)


def _leaves(fn: Any, tree: Any) -> Any:
    """``fn`` on every leaf of dicts, lists and tuples (which keep their types)."""
    if isinstance(tree, dict):
        return {k: _leaves(fn, v) for k, v in tree.items()}
    if isinstance(tree, (list, tuple)):
        return type(tree)(_leaves(fn, v) for v in tree)
    return fn(tree)


def tree_of(tree: Any) -> Any:
    """:func:`of` on every leaf of dicts, lists and tuples."""
    return _leaves(of, tree)


def to_torch(x: Any) -> Any:
    """An :class:`Array` as a new CPU ``torch.Tensor`` of its dtype (imports torch); anything else unchanged."""
    if not isinstance(x, Array):
        return x
    import torch

    from grader.tasks.dtypes import by_name

    if x.dtype == "bfloat16":  # from its bytes: a conversion from float32 would round NaN's payload
        raw = bytearray(x.to_bytes())
        t = torch.frombuffer(raw, dtype=torch.int16) if raw else torch.empty(0, dtype=torch.int16)
        return t.view(torch.bfloat16).reshape(x.shape)
    return torch.from_numpy(np.array(x.values, copy=True)).to(by_name()[x.dtype])


def tree_to_torch(tree: Any) -> Any:
    """:func:`to_torch` on every leaf of dicts, lists and tuples."""
    return _leaves(to_torch, tree)
