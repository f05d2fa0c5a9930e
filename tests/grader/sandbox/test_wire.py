"""The pickle-free wire format: round trips, markers for foreign objects, forged messages rejected."""
from __future__ import annotations

import io
import json
import struct

import numpy as np
import pytest
import torch

from grader.sandbox.inside import wire


def test_round_trip_of_nested_trees_of_tensors():
    tree = {"x": torch.randn(3, 4, dtype=torch.float64), "pairs": [[torch.arange(3), torch.tensor(True)]],
            "s": "relu", "k": 3, "f": 0.5, "none": None, "nan": float("nan"),
            "half": torch.randn(2, dtype=torch.bfloat16), "empty": torch.zeros(0, 5)}
    back = wire.decode(wire.encode(tree))
    assert torch.equal(back["x"], tree["x"]) and back["x"].dtype == torch.float64
    assert torch.equal(back["pairs"][0][0], tree["pairs"][0][0])
    assert torch.equal(back["half"], tree["half"]) and back["half"].dtype == torch.bfloat16
    assert back["empty"].shape == (0, 5)
    assert back["s"] == "relu" and back["k"] == 3 and back["none"] is None and np.isnan(back["nan"])


def test_non_contiguous_and_strided_tensors_keep_their_values():
    t = torch.randn(4, 5, dtype=torch.float64).T[1:, ::2]
    assert torch.equal(wire.decode(wire.encode({"t": t}))["t"], t)


class Sub(torch.Tensor):
    pass


@pytest.mark.parametrize("value,expected", [
    (np.zeros(3), "numpy.ndarray"),
    (torch.zeros(2).as_subclass(Sub), "a torch.Tensor subclass"),
    (object(), "object"),
    ({"$t": 0}, "reserved keys"),
])
def test_foreign_values_become_markers(value, expected):
    back = wire.decode(wire.encode({"v": value}))["v"]
    assert isinstance(back, wire.Foreign) and expected in back.type_name


def forge(header: dict, payload: bytes = b"") -> bytes:
    raw = json.dumps(header).encode()
    return struct.pack(">Q", len(raw)) + raw + payload


@pytest.mark.parametrize("data,message", [
    (b"\x00\x00", "truncated"),
    (forge({"tree": {"$t": 0}, "arrays": [{"dtype": "object", "shape": [1], "nbytes": 8}]}, b"\0" * 8), "bad array"),
    (forge({"tree": {"$t": 0}, "arrays": [{"dtype": "float64", "shape": [2], "nbytes": 8}]}, b"\0" * 8), "do not match"),
    (forge({"tree": {"$t": 3}, "arrays": []}), "bad array reference"),
    (forge({"tree": None, "arrays": []}, b"extra"), "trailing bytes"),
    (forge({"tree": None, "arrays": [{"dtype": "float64", "shape": [-1], "nbytes": 0}]}), "negative"),
    (b"\0" * 8 + b"not json", "bad header"),
])
def test_forged_messages_are_rejected(data, message):
    with pytest.raises(wire.WireError, match=message):
        wire.decode(data)


def test_size_cap():
    with pytest.raises(wire.WireError, match="cap"):
        wire.decode(wire.encode({"x": torch.zeros(1000)}), max_bytes=100)


def test_stream_reading_and_eof():
    buf = io.BytesIO(wire.encode({"a": 1}) + wire.encode({"b": torch.ones(2)}))
    assert wire.read_message(buf) == {"a": 1}
    assert torch.equal(wire.read_message(buf)["b"], torch.ones(2))
    with pytest.raises(EOFError):
        wire.read_message(buf)
