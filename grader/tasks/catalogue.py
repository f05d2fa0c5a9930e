"""What each suite declares, without its input generators: the tasks' ids, files, gradients and calls.

Grading a submission whose expected values are cached needs of a suite only what this module keeps:
each task's id, module, gradient outputs, the tasks it calls, whether it has a forward, and the
suite's order. Loading a suite module imports torch (its inputs are made with it); this catalogue is
read from the cache folder (:mod:`grader.cache`) instead, under a key made of a digest of
``grader/tasks/`` and the Python version, so a process that finds it there imports no suite and no
torch. A changed folder, a foreign or corrupt entry, or no usable cache folder: every suite is
imported once and the catalogue made again (written back where it can be).

It is the grader's own, never copied into the sandboxed child (:mod:`grader.sandbox.bundle`).
"""
from __future__ import annotations

import functools
import json
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from grader import cache

if TYPE_CHECKING:
    from grader.tasks.model import Suite

FORMAT = "deepgrade-catalogue/1"
FILE = "catalogue.json"
TASKS_DIR = Path(__file__).resolve().parent  # what decides the catalogue: the task model and every suite


@dataclass(frozen=True)
class TaskInfo:
    """A :class:`grader.tasks.model.Task` without its callables: the same fields, and ``has_forward``
    for ``task.forward is not None``."""

    id: str
    module: str
    grads: tuple[str, ...]
    calls: tuple[str, ...]
    has_forward: bool
    wrt: dict[str, str] = field(hash=False)
    upstream: str | None

    @property
    def function(self) -> str:
        return self.id.split(".", 1)[1]


@dataclass(frozen=True)
class SuiteInfo:
    """A :class:`grader.tasks.model.Suite`'s metadata: its tasks by id, in the order they are graded."""

    assignment: str
    prefix: str
    exact_outputs: bool
    tasks: dict[str, TaskInfo] = field(hash=False)


def of(suite: Suite) -> SuiteInfo:
    """The metadata of a loaded suite."""
    tasks = {t.id: TaskInfo(t.id, t.module, tuple(t.grads), tuple(t.calls), t.forward is not None, dict(t.wrt),
                            t.upstream) for t in suite.tasks.values()}
    return SuiteInfo(suite.assignment, suite.prefix, suite.exact_outputs, tasks)


def load(assignment: str) -> SuiteInfo:
    """The metadata of ``assignment``'s suite; KeyError where it has no suite module."""
    return _catalogue()[assignment]


def available() -> list[str]:
    """The assignments that have a suite module, sorted."""
    return list(_catalogue())


def key() -> dict[str, str]:
    """What the kept catalogue is valid for: the bytes of ``grader/tasks/`` and the Python version."""
    return {"tasks": cache.tree_digest(str(TASKS_DIR)), "python": sys.version}


@functools.lru_cache(maxsize=1)
def _catalogue() -> dict[str, SuiteInfo]:
    """Every suite's metadata, by assignment: read from the cache folder, else made and kept there."""
    where = cache.folder()
    wanted = key()
    body = cache.read(where / FILE, FORMAT, wanted) if where is not None else None
    if body is not None:
        try:
            return _decode(json.loads(body))
        except (ValueError, TypeError, KeyError, AttributeError):
            cache.say(f"grader: {where / FILE}: refused (not a catalogue of suites): computed again")
    from grader.tasks import suites

    made = {aid: of(suites.load(aid)) for aid in suites.available()}
    if where is not None:
        cache.write(where / FILE, FORMAT, wanted, json.dumps(_encode(made)).encode())
    return made


def _encode(catalogue: dict[str, SuiteInfo]) -> dict[str, Any]:
    return {aid: {"prefix": s.prefix, "exact_outputs": s.exact_outputs,
                  "tasks": [{"id": t.id, "module": t.module, "grads": list(t.grads), "calls": list(t.calls),
                             "has_forward": t.has_forward, "wrt": t.wrt, "upstream": t.upstream}
                            for t in s.tasks.values()]}
            for aid, s in catalogue.items()}


def _decode(tree: Any) -> dict[str, SuiteInfo]:
    """The catalogue :func:`_encode` wrote; ValueError (or TypeError, KeyError) for anything else."""
    if not isinstance(tree, dict):
        raise ValueError("not a mapping of assignments")
    return {_text(aid): SuiteInfo(aid, _text(s["prefix"]), _flag(s["exact_outputs"]),
                                  {t.id: t for t in map(_task, s["tasks"])})
            for aid, s in tree.items()}


def _task(t: dict[str, Any]) -> TaskInfo:
    wrt = t["wrt"]
    if not isinstance(wrt, dict) or len(t) != 7:
        raise ValueError(f"not a task: {t!r}")
    return TaskInfo(_text(t["id"]), _text(t["module"]), _texts(t["grads"]), _texts(t["calls"]),
                    _flag(t["has_forward"]), {_text(k): _text(v) for k, v in wrt.items()},
                    None if t["upstream"] is None else _text(t["upstream"]))


def _text(value: Any) -> str:
    if not isinstance(value, str):
        raise TypeError(f"not a string: {value!r}")
    return value


def _texts(values: Any) -> tuple[str, ...]:
    if not isinstance(values, list):
        raise TypeError(f"not a list: {values!r}")
    return tuple(map(_text, values))


def _flag(value: Any) -> bool:
    if not isinstance(value, bool):
        raise TypeError(f"not a flag: {value!r}")
    return value
