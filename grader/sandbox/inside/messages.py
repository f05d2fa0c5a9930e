"""What the grader and its sandboxed child say to each other, one type per message.

The grader sends a :class:`TaskRequest` (run one case of a task) or an :class:`ImportRequest`
(import one of the submission's modules), each with a fresh token; the child says :class:`Ready`
once, then answers each request with a :class:`Reply` that echoes the token. Each message goes
over the pipe as a tree of the wire format (:mod:`grader.sandbox.inside.wire`): ``to_wire()``
makes that tree, and the reading side turns a tree back into the message. The child trusts
the grader's requests; the grader reads what comes back as untrusted data
(:meth:`Reply.read`): a field of the wrong type reads as absent, and a tree that is no message
at all is passed on as it came.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

STATUSES = ("ok", "not_implemented", "error", "banned")  # what a reply's status may be


@dataclass(frozen=True)
class Ready:
    """The child is set up (isolation entered, the suite imported) and takes requests."""

    def to_wire(self) -> dict[str, Any]:
        return {"ready": True}


@dataclass(frozen=True)
class TaskRequest:
    """Run one case of a task on these inputs, under these bans."""

    task: str
    case: int
    inputs: dict[str, Any]
    token: str
    own_gradient: int = 0       # max elements for the self-consistency check; 0 = skip
    banned: tuple[str, ...] = ()

    def to_wire(self) -> dict[str, Any]:
        return {"task": self.task, "case": self.case, "inputs": self.inputs, "own_gradient": self.own_gradient,
                "banned": list(self.banned), "token": self.token}


@dataclass(frozen=True)
class ImportRequest:
    """Import one of the submission's modules (by its name in the assignment's folder, without .py)."""

    module: str
    token: str

    def to_wire(self) -> dict[str, Any]:
        return {"import": self.module, "token": self.token}


def request_from(tree: dict[str, Any]) -> TaskRequest | ImportRequest:
    """A request as the child reads it (it comes from the grader)."""
    if "import" in tree:
        return ImportRequest(tree["import"], tree["token"])
    return TaskRequest(tree["task"], tree["case"], tree["inputs"], tree["token"], tree.get("own_gradient", 0),
                       tuple(tree.get("banned", ())))


@dataclass
class Reply:
    """The child's answer to one request: its status, the outputs or what went wrong, and what the
    request left behind (which decides whether the process goes on)."""

    token: str
    status: str | None = "ok"         # one of STATUSES (read from a child: None where it said none)
    task: str | None = None           # the task and case answered (a task's reply)
    case: int | None = None
    module: str | None = None         # the module imported (an import's reply)
    outputs: dict[str, Any] = field(default_factory=dict)
    own_gradient: dict[str, Any] = field(default_factory=dict)
    message: str = ""
    traceback: str = ""
    stdout: str = ""
    signature: list[str] | None = None  # the function's parameters, when a call failed on them
    left: list[str] = field(default_factory=list)     # what it left running after it returned
    restart: bool = False             # the process must not serve another task
    restart_reason: str = ""
    patched: list[str] = field(default_factory=list)  # library attributes it replaced, put back
    violation: dict[str, Any] | None = None  # the run-time guard's finding as data: name, file, line, escape

    @classmethod
    def answering(cls, request: TaskRequest | ImportRequest) -> Reply:
        """An empty reply to ``request``: its token, and its task and case or its module."""
        if isinstance(request, ImportRequest):
            return cls(request.token, module=request.module)
        return cls(request.token, task=request.task, case=request.case)

    def to_wire(self) -> dict[str, Any]:
        tree: dict[str, Any] = {"token": self.token, "status": self.status}
        if self.module is not None:
            tree["import"] = self.module
        else:
            tree.update(task=self.task, case=self.case)
        return {**tree, "outputs": self.outputs, "own_gradient": self.own_gradient, "message": self.message,
                "traceback": self.traceback, "stdout": self.stdout, "signature": self.signature, "left": self.left,
                "restart": self.restart, "restart_reason": self.restart_reason, "patched": self.patched,
                "violation": self.violation}

    @classmethod
    def read(cls, tree: Any) -> Reply | Ready | Any:
        """What the child sent, as the grader takes it: a reply (each field of the type it must have, or
        absent), the child's ready, or, for anything that is neither, the tree itself."""
        if not isinstance(tree, dict):
            return tree
        if "token" not in tree and tree.get("ready"):
            return Ready()

        def text(key: str) -> str:
            return str(tree.get(key, ""))

        def of(key: str, kind: type) -> Any:
            value = tree.get(key)
            return value if isinstance(value, kind) else None

        left, sig = of("left", list) or [], of("signature", list)
        return cls(token=of("token", str) or "", status=of("status", str), task=of("task", str), case=of("case", int),
                   module=of("import", str), outputs=of("outputs", dict) or {},
                   own_gradient=of("own_gradient", dict) or {}, message=text("message"), traceback=text("traceback"),
                   stdout=text("stdout"), signature=[str(s) for s in sig] if sig is not None else None,
                   left=left if all(isinstance(x, str) for x in left) else [], restart=bool(tree.get("restart")),
                   restart_reason=str(tree.get("restart_reason") or ""),
                   patched=[str(x) for x in of("patched", list) or []], violation=_violation(of("violation", dict)))


def _violation(tree: dict | None) -> dict[str, Any] | None:
    """A finding of the run-time guard as the child sent it, where each field has its type; else None."""
    kinds = {"name": str, "file": str, "line": int, "escape": bool}
    if tree is None or set(tree) != set(kinds) or not all(type(tree[k]) is kind for k, kind in kinds.items()):
        return None
    return dict(tree)
