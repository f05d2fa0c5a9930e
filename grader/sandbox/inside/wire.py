"""Pickle-free wire format: a JSON tree whose leaves may be arrays, sent as raw bytes.

A message is ``len(header) (8 bytes, big-endian) | header (JSON) | buffers``. The header
holds the tree, with each tensor replaced by ``{"$t": i}`` and described in ``arrays[i]``
(dtype, shape, byte count). Nothing is ever unpickled or evaluated: the reader checks
every dtype against a whitelist and every byte count against the shape.

Values that are not plain data (a numpy array, a tensor subclass, any other object)
are encoded as markers so the parent can say what was returned instead.

The child reads tensors as ``torch.Tensor``; the grading process reads them as
:class:`grader.tasks.arrays.Array` (``tensors=False``), and encodes an Array as the tensor it
stands for: importing this module imports no torch, and the grading process never needs it.
"""
from __future__ import annotations

import json
import math
import struct
from dataclasses import dataclass
from typing import Any, BinaryIO

import numpy as np

from grader.tasks.arrays import Array, torch_loaded
from grader.tasks.dtypes import SIZES, by_name, names

MAX_MESSAGE_BYTES = 256 * 1024 * 1024


class WireError(ValueError):
    """A message that does not follow the format (truncated, oversized, forged)."""


@dataclass(frozen=True)
class Foreign:
    """Something that was returned where a ``torch.Tensor`` belongs: its type and a short repr."""

    type_name: str
    summary: str = ""

    def describe(self) -> str:
        return f"a {self.type_name}" + (f" ({self.summary})" if self.summary else "")


_TORCH: Any = None


def _torch() -> Any:
    """torch once this process has loaded it (else None; also while another thread is still importing it),
    kept from the first time it is seen: in the child that is before any code of the submission's runs, so
    nothing it puts in ``sys.modules`` stands in."""
    global _TORCH
    if _TORCH is None:
        _TORCH = torch_loaded()
    return _TORCH


def _tensor_bytes(t: Any) -> bytes:
    torch = _torch()
    t = t.detach().to("cpu").contiguous()
    if t.dtype == torch.bfloat16:
        t = t.view(torch.int16)
    return t.numpy().tobytes()


def _type_name(x: Any) -> str:
    t = type(x)
    mod = t.__module__
    return t.__qualname__ if mod in ("builtins", None) else f"{mod}.{t.__qualname__}"


def encode(tree: Any) -> bytes:
    """Encode a tree of dict/list/tuple/str/int/float/bool/None/Tensor; anything else becomes a marker."""
    arrays: list[dict] = []
    buffers: list[bytes] = []
    torch = _torch()  # not loaded: nothing in the tree is a torch tensor

    def walk(x: Any) -> Any:
        if torch is not None and type(x) is torch.Tensor:  # exact type: subclasses are reported, never trusted
            if x.dtype not in names():
                return {"$foreign": f"torch.Tensor of dtype {x.dtype}", "summary": ""}
            data = _tensor_bytes(x)
            arrays.append({"dtype": names()[x.dtype], "shape": list(x.shape), "nbytes": len(data)})
            buffers.append(data)
            return {"$t": len(arrays) - 1}
        if type(x) is Array:  # the grading process's own tensors (its requests, its cache)
            data = x.to_bytes()
            arrays.append({"dtype": x.dtype, "shape": list(x.shape), "nbytes": len(data)})
            buffers.append(data)
            return {"$t": len(arrays) - 1}
        if x is None or type(x) in (bool, int, str):
            return x
        if type(x) is float:
            return x if math.isfinite(x) else {"$float": repr(x)}
        if type(x) in (list, tuple):
            return [walk(v) for v in x]
        if type(x) is dict and all(type(k) is str for k in x):
            if any(k.startswith("$") for k in x):
                return {"$foreign": "dict with reserved keys", "summary": ""}
            return {k: walk(v) for k, v in x.items()}
        if torch is not None and isinstance(x, torch.Tensor):
            return {"$foreign": f"{_type_name(x)} (a torch.Tensor subclass)", "summary": ""}
        if type(x) is np.ndarray:
            return {"$foreign": "numpy.ndarray", "summary": f"shape {tuple(x.shape)}, dtype {x.dtype}"}
        return {"$foreign": _type_name(x), "summary": ""}

    tree_json = walk(tree)
    header = json.dumps({"tree": tree_json, "arrays": arrays}, separators=(",", ":")).encode()
    return struct.pack(">Q", len(header)) + header + b"".join(buffers)


def decode(data: bytes, max_bytes: int = MAX_MESSAGE_BYTES, tensors: bool = True) -> Any:
    """Decode a message; tensors come back as CPU ``torch.Tensor``s (``tensors=False``: as
    :class:`~grader.tasks.arrays.Array`, without torch), markers as :class:`Foreign`."""
    if len(data) > max_bytes:
        raise WireError(f"message of {len(data)} bytes exceeds the cap of {max_bytes}")
    if len(data) < 8:
        raise WireError("truncated message")
    (hlen,) = struct.unpack(">Q", data[:8])
    if hlen > len(data) - 8:
        raise WireError("truncated header")
    try:
        header = json.loads(data[8:8 + hlen])
        tree, arrays = header["tree"], header["arrays"]
    except (ValueError, KeyError, TypeError) as e:
        raise WireError(f"bad header: {e}") from None
    if not isinstance(arrays, list):
        raise WireError("bad header: arrays is not a list")
    leaves: list[Any] = []
    offset = 8 + hlen
    for spec in arrays:
        try:
            name = spec["dtype"]
            itemsize = SIZES[name][0]
            shape = [int(s) for s in spec["shape"]]
            nbytes = int(spec["nbytes"])
        except (KeyError, TypeError, ValueError):
            raise WireError(f"bad array description {spec!r}") from None
        if any(s < 0 for s in shape):
            raise WireError(f"negative dimension in {shape}")
        if math.prod(shape) * itemsize != nbytes or offset + nbytes > len(data):
            raise WireError(f"array bytes do not match shape {shape} and dtype {name}")
        raw = bytearray(data[offset:offset + nbytes])
        offset += nbytes
        leaves.append(_tensor(raw, name, shape) if tensors else Array.from_bytes(raw, name, shape))
    if offset != len(data):
        raise WireError("trailing bytes after the last array")

    def walk(x: Any) -> Any:
        if isinstance(x, dict):
            if "$t" in x:
                i = x["$t"]
                if type(i) is not int or not 0 <= i < len(leaves):
                    raise WireError(f"bad array reference {i!r}")
                return leaves[i]
            if "$float" in x:
                return float(x["$float"]) if x["$float"] in ("nan", "inf", "-inf") else None
            if "$foreign" in x:
                return Foreign(str(x["$foreign"])[:200], str(x.get("summary", ""))[:200])
            return {str(k): walk(v) for k, v in x.items()}
        if isinstance(x, list):
            return [walk(v) for v in x]
        return x

    return walk(tree)


def _tensor(raw: bytearray, name: str, shape: list[int]) -> Any:
    torch = _torch()
    if torch is None:  # a process that reads tensors as torch's, before it loaded torch: now (kept by _torch)
        import torch
    dtype = by_name()[name]
    if not raw:
        return torch.empty(shape, dtype=dtype)
    if dtype == torch.bfloat16:
        return torch.frombuffer(raw, dtype=torch.int16).view(torch.bfloat16).reshape(shape)
    return torch.frombuffer(raw, dtype=dtype).reshape(shape)


def write_message(stream: BinaryIO, tree: Any) -> None:
    stream.write(encode(tree))
    stream.flush()


def read_message(stream: BinaryIO, max_bytes: int = MAX_MESSAGE_BYTES, tensors: bool = True) -> Any:
    """Read one message from a blocking stream; ``EOFError`` when the stream is closed."""
    head = _read_exact(stream, 8)
    (hlen,) = struct.unpack(">Q", head)
    if hlen > max_bytes:
        raise WireError("header exceeds the size cap")
    header = _read_exact(stream, hlen)
    try:
        arrays = json.loads(header)["arrays"]
        total = sum(int(a["nbytes"]) for a in arrays)
    except (ValueError, KeyError, TypeError) as e:
        raise WireError(f"bad header: {e}") from None
    if total + hlen + 8 > max_bytes:
        raise WireError("message exceeds the size cap")
    return decode(head + header + _read_exact(stream, total), max_bytes, tensors)


def _read_exact(stream: BinaryIO, n: int) -> bytes:
    chunks, got = [], 0
    while got < n:
        chunk = stream.read(n - got)
        if not chunk:
            raise EOFError("stream closed")
        chunks.append(chunk)
        got += len(chunk)
    return b"".join(chunks)
