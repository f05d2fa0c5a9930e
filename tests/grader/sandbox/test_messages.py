"""The messages between the grader and its child: each kind survives the wire, and what the child sends is
read as untrusted data (a field of the wrong type reads as absent, a tree that is no message is passed on)."""
from __future__ import annotations

import torch

from grader.sandbox.inside import wire
from grader.sandbox.inside.messages import ImportRequest, Ready, Reply, TaskRequest, request_from


def over_the_wire(tree):
    return wire.decode(wire.encode(tree))


def test_requests_reach_the_child_as_they_were_sent():
    task = TaskRequest("a02.relu_forward", 2, {"x": torch.arange(3.0)}, "f00d", own_gradient=400,
                       banned=("torch.relu",))
    got = request_from(over_the_wire(task.to_wire()))
    assert isinstance(got, TaskRequest) and (got.task, got.case, got.token, got.own_gradient, got.banned) == \
        ("a02.relu_forward", 2, "f00d", 400, ("torch.relu",))
    assert torch.equal(got.inputs["x"], torch.arange(3.0))
    assert request_from(over_the_wire(ImportRequest("layers", "beef").to_wire())) == ImportRequest("layers", "beef")


def test_a_reply_reaches_the_grader_as_the_child_made_it():
    reply = Reply.answering(TaskRequest("a02.relu_forward", 1, {}, "f00d"))
    reply.outputs, reply.stdout, reply.left, reply.restart = {"out": torch.ones(2)}, "hi", ["a thread"], True
    reply.restart_reason, reply.patched, reply.signature = "it left a thread running", ["torch.allclose"], ["x"]
    got = Reply.read(over_the_wire(reply.to_wire()))
    assert isinstance(got, Reply) and torch.equal(got.outputs.pop("out"), torch.ones(2))
    reply.outputs = {}
    assert got == reply
    imported = Reply.answering(ImportRequest("layers", "beef"))
    assert Reply.read(over_the_wire(imported.to_wire())) == imported
    assert imported.module == "layers" and imported.task is None
    assert Reply.read(over_the_wire(Ready().to_wire())) == Ready()


def test_a_forged_reply_reads_each_field_of_the_wrong_type_as_absent():
    forged = {"token": ["f00d"], "status": 3, "task": 7, "case": "1", "outputs": [1], "own_gradient": "x",
              "signature": [1, 2], "left": ["a thread", 5], "restart": 1, "restart_reason": None, "patched": "os"}
    got = Reply.read(over_the_wire(forged))
    assert (got.token, got.status, got.task, got.case, got.outputs, got.own_gradient) == ("", None, None, None, {}, {})
    assert (got.signature, got.left, got.restart, got.restart_reason, got.patched) == (["1", "2"], [], True, "", [])
    assert Reply.read(over_the_wire([1, 2])) == [1, 2]  # no message at all: the grader says it came out of turn
    assert isinstance(Reply.read({"token": "f00d", "ready": True}), Reply)  # a ready comes once, before any token
