"""course.yaml: the course's policy, loaded and validated strictly.

Every error names the key path and its line: an unknown key, a wrong type, a duplicate
id, a non-positive point value, an unknown device or dtype. Nothing is ``exec``'d.
"""
from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import yaml

DEVICES = ("cpu", "cuda")
DTYPES = ("float64", "float32", "float16", "bfloat16")
SUITES = ("public", "hidden")
ASSIGNMENT_ID = re.compile(r"^a\d\d_[a-z0-9_]+$")
TASK_ID = re.compile(r"^a\d\d\.[a-z_][a-z0-9_]*$")
BANNED_NAME = re.compile(r"^(torch|numpy)(\.[A-Za-z_][A-Za-z0-9_]*)*(\.\*)?$")


class ConfigError(ValueError):
    """course.yaml is invalid; the message names the file, line and key."""


@dataclass(frozen=True)
class Limits:
    time_s: float
    memory_mb: int


@dataclass(frozen=True)
class SuiteConfig:
    seed: int
    cases: int


@dataclass(frozen=True)
class LatePolicy:
    grace_minutes: float
    penalty_per_day: float  # fraction of the score lost per started day late
    cap: float              # the most that can be lost, as a fraction


@dataclass(frozen=True)
class TaskConfig:
    id: str
    points: float
    limits: Limits
    banned: tuple[str, ...] = ()  # qualified names the task may not call (the assignment's and its own)


@dataclass(frozen=True)
class AssignmentConfig:
    id: str
    title: str
    available: bool
    deadline: dt.datetime | None
    tasks: tuple[TaskConfig, ...]

    @property
    def prefix(self) -> str:
        return self.id.split("_", 1)[0]

    @property
    def max_score(self) -> float:
        return sum(t.points for t in self.tasks)


@dataclass(frozen=True)
class Course:
    name: str
    devices: tuple[str, ...]
    tolerances: dict[str, dict[str, tuple[float, float]]]  # dtype -> device -> (rtol, atol)
    limits: Limits
    suites: dict[str, SuiteConfig]
    late_policy: LatePolicy
    assignments: tuple[AssignmentConfig, ...]
    path: Path = field(default=Path("course.yaml"))

    def assignment(self, key: str) -> AssignmentConfig:
        """Look up by full id (``a02_mlp_backprop``) or prefix (``a02``)."""
        for a in self.assignments:
            if key in (a.id, a.prefix):
                return a
        raise KeyError(key)

    def tolerance(self, dtype: str, device: str) -> tuple[float, float]:
        return self.tolerances[dtype][device]


class _Node:
    """A YAML node with its path, so errors can name both."""

    def __init__(self, node: yaml.Node, path: str, file: str):
        self.node, self.path, self.file = node, path, file

    def error(self, message: str) -> ConfigError:
        return ConfigError(f"{self.file}:{self.node.start_mark.line + 1}: {self.path or 'top level'}: {message}")

    def child(self, node: yaml.Node, key: str | int) -> "_Node":
        path = f"{self.path}[{key}]" if isinstance(key, int) else (f"{self.path}.{key}" if self.path else key)
        return _Node(node, path, self.file)

    def mapping(self, required: tuple[str, ...], optional: tuple[str, ...] = ()) -> dict[str, "_Node"]:
        if not isinstance(self.node, yaml.MappingNode):
            raise self.error(f"expected a mapping, got {_kind(self.node)}")
        out: dict[str, _Node] = {}
        allowed = required + optional
        for k, v in self.node.value:
            key = _scalar(k)
            if not isinstance(key, str):
                raise _Node(k, self.path, self.file).error(f"keys must be strings, got {key!r}")
            if key in out:
                raise _Node(k, self.path, self.file).error(f"duplicate key '{key}'")
            if key not in allowed:
                raise _Node(k, self.path, self.file).error(
                    f"unknown key '{key}' (expected one of: {', '.join(allowed)})")
            out[key] = self.child(v, key)
        missing = [k for k in required if k not in out]
        if missing:
            raise self.error(f"missing key '{missing[0]}'")
        return out

    def sequence(self) -> list["_Node"]:
        if not isinstance(self.node, yaml.SequenceNode):
            raise self.error(f"expected a list, got {_kind(self.node)}")
        return [self.child(v, i) for i, v in enumerate(self.node.value)]

    def scalar(self, kind: type | tuple[type, ...], check: Callable[[Any], str | None] | None = None) -> Any:
        if not isinstance(self.node, yaml.ScalarNode):
            raise self.error(f"expected {_article(_names(kind))}, got {_kind(self.node)}")
        value = _scalar(self.node)
        if isinstance(value, bool) and bool not in (kind if isinstance(kind, tuple) else (kind,)):
            raise self.error(f"expected {_article(_names(kind))}, got a boolean")
        if not isinstance(value, kind):
            hint = ""
            if isinstance(value, str) and re.fullmatch(r"[-+]?\d+e[-+]?\d+", value):
                hint = f" (YAML reads {value} as text; write it with a decimal point, e.g. 1.0e-7)"
            raise self.error(f"expected {_article(_names(kind))}, got {type(value).__name__} {value!r}{hint}")
        if check is not None and (problem := check(value)):
            raise self.error(problem)
        return value


def _kind(node: yaml.Node) -> str:
    return {yaml.MappingNode: "a mapping", yaml.SequenceNode: "a list"}.get(type(node), "a scalar")


def _names(kind: type | tuple[type, ...]) -> str:
    kinds = kind if isinstance(kind, tuple) else (kind,)
    if set(kinds) == {int, float}:
        return "number"
    words = {int: "integer", float: "number", str: "string", bool: "boolean", dt.datetime: "date-time"}
    return " or ".join(dict.fromkeys(words.get(k, k.__name__) for k in kinds))


def _article(noun: str) -> str:
    return ("an " if noun[0] in "aeiou" else "a ") + noun


def _scalar(node: yaml.Node) -> Any:
    return yaml.SafeLoader("").construct_object(node, deep=True)


NUMBER = (int, float)


def positive(v: Any) -> str | None:
    return None if v > 0 else f"must be positive, got {v}"


def non_negative(v: Any) -> str | None:
    return None if v >= 0 else f"must be zero or more, got {v}"


def fraction(v: Any) -> str | None:
    return None if 0 <= v <= 1 else f"must be between 0 and 1, got {v}"


def one_of(options: tuple[str, ...], what: str) -> Callable[[Any], str | None]:
    return lambda v: None if v in options else f"unknown {what} '{v}' (expected one of: {', '.join(options)})"


def _limits(node: _Node, default: Limits | None) -> Limits:
    required = ("time_s", "memory_mb") if default is None else ()
    m = node.mapping(required, () if default is None else ("time_s", "memory_mb"))
    time_s = m["time_s"].scalar(NUMBER, positive) if "time_s" in m else default.time_s  # type: ignore[union-attr]
    memory = m["memory_mb"].scalar(int, positive) if "memory_mb" in m else default.memory_mb  # type: ignore[union-attr]
    if memory < 256:
        raise (m.get("memory_mb") or node).error(f"must be at least 256 (MiB), got {memory}")
    return Limits(float(time_s), int(memory))


def _banned(node: _Node) -> tuple[str, ...]:
    """Qualified names (``torch.nn.functional.conv2d``), a module (``torch.autograd``) or ``module.*``."""
    names = []
    for item in node.sequence():
        name = item.scalar(str, lambda v: None if BANNED_NAME.match(v) else
                           f"'{v}' is not a qualified name like torch.nn.functional.relu or torch.autograd.*")
        if name in names:
            raise item.error(f"'{name}' is listed twice")
        names.append(name)
    return tuple(names)


def _deadline(node: _Node) -> dt.datetime:
    value = node.scalar((dt.datetime, str))
    if isinstance(value, str):
        try:
            value = dt.datetime.fromisoformat(value)
        except ValueError:
            raise node.error(f"expected an ISO 8601 date-time, got {value!r}") from None
    if value.tzinfo is None:
        raise node.error("a deadline needs a time zone (e.g. 2027-02-15T23:59:00+00:00)")
    return value


def parse(text: str, file: str = "course.yaml") -> Course:
    try:
        root_node = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        line = f":{mark.line + 1}" if mark else ""
        raise ConfigError(f"{file}{line}: not valid YAML: {getattr(e, 'problem', e)}") from None
    if root_node is None:
        raise ConfigError(f"{file}: empty file")
    root = _Node(root_node, "", file)
    top = root.mapping(("course", "devices", "tolerances", "limits", "suites", "assignments"),
                       ("late_policy",))
    name = top["course"].scalar(str)
    devices_nodes = top["devices"].sequence()
    devices = tuple(n.scalar(str, one_of(DEVICES, "device")) for n in devices_nodes)
    if "cpu" not in devices:
        raise top["devices"].error("must include cpu")
    if len(set(devices)) != len(devices):
        raise top["devices"].error("lists a device twice")

    tolerances: dict[str, dict[str, tuple[float, float]]] = {}
    tol_map = top["tolerances"].mapping((), DTYPES)
    if "float64" not in tol_map or "float32" not in tol_map:
        raise top["tolerances"].error("needs at least float64 and float32")
    for dtype, dnode in tol_map.items():
        per_device = dnode.mapping((), DEVICES)
        for device in devices:
            if device not in per_device:
                raise dnode.error(f"missing key '{device}' (every listed device needs a tolerance)")
        tolerances[dtype] = {}
        for device, tnode in per_device.items():
            t = tnode.mapping(("rtol", "atol"))
            tolerances[dtype][device] = (float(t["rtol"].scalar(NUMBER, non_negative)),
                                         float(t["atol"].scalar(NUMBER, non_negative)))

    limits = _limits(top["limits"], None)
    suites_map = top["suites"].mapping(SUITES)
    suites = {}
    for sname, snode in suites_map.items():
        s = snode.mapping(("seed", "cases"))
        suites[sname] = SuiteConfig(s["seed"].scalar(int, non_negative), s["cases"].scalar(int, positive))

    late = LatePolicy(0.0, 0.0, 0.0)
    if "late_policy" in top:
        lp = top["late_policy"].mapping(("penalty_per_day", "cap"), ("grace_minutes",))
        late = LatePolicy(float(lp["grace_minutes"].scalar(NUMBER, non_negative)) if "grace_minutes" in lp else 0.0,
                          float(lp["penalty_per_day"].scalar(NUMBER, fraction)),
                          float(lp["cap"].scalar(NUMBER, fraction)))

    assignments: list[AssignmentConfig] = []
    seen_ids: dict[str, str] = {}
    for anode in top["assignments"].sequence():
        a = anode.mapping(("id", "title"), ("available", "deadline", "tasks", "banned"))
        aid = a["id"].scalar(str, lambda v: None if ASSIGNMENT_ID.match(v) else
                             f"'{v}' is not an assignment id like a02_mlp_backprop")
        prefix = aid.split("_", 1)[0]
        if aid in seen_ids or prefix in seen_ids:
            raise a["id"].error(f"duplicate assignment id '{aid}'")
        seen_ids[aid] = seen_ids[prefix] = aid
        available = a["available"].scalar(bool) if "available" in a else True
        tasks: list[TaskConfig] = []
        common = _banned(a["banned"]) if "banned" in a else ()
        if available and "tasks" not in a:
            raise anode.error("an available assignment needs tasks")
        for tnode in (a["tasks"].sequence() if "tasks" in a else []):
            t = tnode.mapping(("id", "points"), ("limits", "banned"))
            tid = t["id"].scalar(str, lambda v: None if TASK_ID.match(v) else
                                 f"'{v}' is not a task id like {prefix}.affine_backward")
            if not tid.startswith(prefix + "."):
                raise t["id"].error(f"task '{tid}' must start with '{prefix}.'")
            if tid in seen_ids:
                raise t["id"].error(f"duplicate task id '{tid}'")
            seen_ids[tid] = tid
            own = _banned(t["banned"]) if "banned" in t else ()
            tasks.append(TaskConfig(tid, float(t["points"].scalar(NUMBER, positive)),
                                    _limits(t["limits"], limits) if "limits" in t else limits,
                                    tuple(dict.fromkeys(common + own))))
        assignments.append(AssignmentConfig(aid, a["title"].scalar(str), available,
                                            _deadline(a["deadline"]) if "deadline" in a else None,
                                            tuple(tasks)))
    return Course(name, devices, tolerances, limits, suites, late, tuple(assignments), Path(file))


def load(path: str | Path) -> Course:
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"{p}: no such file") from None
    except (OSError, UnicodeDecodeError) as e:
        raise ConfigError(f"{p}: cannot read: {e}") from None
    course = parse(text, str(p))
    return Course(course.name, course.devices, course.tolerances, course.limits, course.suites,
                  course.late_policy, course.assignments, p)


def late_penalty(policy: LatePolicy, deadline: dt.datetime | None, submitted: dt.datetime | None) -> float:
    """The fraction of the score lost: per started day after the deadline plus grace, capped."""
    if deadline is None or submitted is None:
        return 0.0
    late_by = submitted - deadline - dt.timedelta(minutes=policy.grace_minutes)
    if late_by <= dt.timedelta(0):
        return 0.0
    days = -(-late_by // dt.timedelta(days=1))  # started days
    return min(policy.cap, days * policy.penalty_per_day)
