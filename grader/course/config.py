"""course.yaml: the course's policy, loaded and validated strictly.

Every error names the key path and its line: an unknown key, a wrong type, a duplicate
id, a non-positive point value, an unknown device or dtype. Nothing is ``exec``'d.
"""
from __future__ import annotations

import dataclasses
import datetime as dt
import difflib
import functools
import importlib
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable

from grader import cache, i18n
from grader.course.nodes import NUMBER, ConfigError, Errors, Node, compose, fraction, non_negative, one_of, positive

DEVICES = ("cpu", "cuda")
DTYPES = ("float64", "float32", "float16", "bfloat16")
SUITES = ("public", "hidden")
ASSIGNMENT_ID = re.compile(r"^a\d\d_[a-z0-9_]+$")
TASK_ID = re.compile(r"^a\d\d\.[a-z_][a-z0-9_]*$")
BANNED_NAME = re.compile(r"^(torch|numpy|scipy|sklearn)(\.[A-Za-z_][A-Za-z0-9_]*)*(\.\*)?$")


class SelectionError(LookupError):
    """An assignment or task id that course.yaml does not have, an assignment not available yet, or a device
    that cannot be graded on."""


@dataclass(frozen=True)
class Limits:
    time_s: float
    memory_mb: int


@dataclass(frozen=True)
class Budgets:
    """Wall clocks over more than one task: no submission can hold a grader longer than these."""

    assignment_s: float   # one assignment, every task of it
    submission_s: float   # the whole submission, every assignment


DEFAULT_BUDGETS = Budgets(600.0, 1800.0)


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
    line: int = 0                 # where course.yaml declares it


@dataclass(frozen=True)
class AssignmentConfig:
    id: str
    title: str
    available: bool
    deadline: dt.datetime | None
    tasks: tuple[TaskConfig, ...]
    line: int = 0  # where course.yaml declares it
    title_zh: str = ""  # its title in Simplified Chinese, as the course notes name the topic

    def title_in(self, lang: str) -> str:
        """The title a reader of ``lang`` sees (English where no translation is given)."""
        return self.title_zh if lang == "zh_CN" and self.title_zh else self.title

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
    suites: dict[str, SuiteConfig]  # public, and hidden except in a student repository
    late_policy: LatePolicy
    assignments: tuple[AssignmentConfig, ...]
    path: Path = field(default=Path("course.yaml"))
    budgets: Budgets = DEFAULT_BUDGETS
    language: str | None = None  # what students read where neither --lang nor the environment chooses

    def assignment(self, key: str) -> AssignmentConfig:
        """Look up by full id (``a02_mlp_backprop``) or prefix (``a02``)."""
        for a in self.assignments:
            if key in (a.id, a.prefix):
                return a
        raise KeyError(key)

    def select(self, keys: Iterable[str] | None, available: bool = True,
               task_ids: bool = False) -> list[tuple[AssignmentConfig, frozenset[str] | None]]:
        """The assignments ``keys`` name (full ids or prefixes; with ``task_ids``, a task id names its
        assignment and that task), in the order first named, each with the tasks named (None: all of
        it); ``keys`` None names every available assignment. Raises :class:`SelectionError` naming the first
        unknown key with the nearest ids, or an assignment not yet available when ``available`` is asked for."""
        chosen: dict[str, tuple[AssignmentConfig, frozenset[str] | None]] = {}
        for key in keys if keys is not None else [a.id for a in self.assignments if a.available]:
            head, task = (key.split(".", 1)[0], key) if task_ids and "." in key else (key, None)
            cfg = next((a for a in self.assignments if head in (a.id, a.prefix)), None)
            if cfg is None:
                raise SelectionError(f"unknown assignment '{key}'{self._nearest(key, task_ids)} (see course.yaml)")
            if task is not None and task not in {t.id for t in cfg.tasks}:
                raise SelectionError(f"unknown task '{key}'{self._nearest(key, task_ids)} (see course.yaml)")
            if available and not cfg.available:
                raise SelectionError(f"{cfg.id} is not available yet (course.yaml marks it available: false)")
            _, before = chosen.get(cfg.id, (cfg, frozenset()))
            whole = before is None or task is None
            chosen[cfg.id] = (cfg, None if whole else before | {task})
        return list(chosen.values())

    def device(self, name: str, here: bool = True) -> str:
        """The device ``name`` grades on: ``auto`` is CUDA where this machine has it, else the CPU. Raises
        :class:`SelectionError` for an unknown device, one course.yaml does not list, or (``here``: the
        grading runs on this machine) CUDA where this machine has none."""
        if name not in ("auto", *DEVICES):
            raise SelectionError(f"unknown device '{name}' ({', '.join(DEVICES)} or auto)")
        if here and name != "cpu":
            import torch  # only to ask for CUDA: the CPU needs no torch in this process

            if name == "auto":
                name = "cuda" if torch.cuda.is_available() else "cpu"
            elif not torch.cuda.is_available():
                raise SelectionError(f"--device {name} was asked for, but CUDA is not available here")
        if name not in self.devices:
            raise SelectionError(f"device '{name}' is not among course.yaml's devices ({', '.join(self.devices)})")
        return name

    def _nearest(self, key: str, task_ids: bool) -> str:
        names = [n for a in self.assignments for n in (a.id, a.prefix)] + \
            ([t.id for a in self.assignments for t in a.tasks] if task_ids else [])
        near = difflib.get_close_matches(key, names, n=3, cutoff=0.6)
        return f" (did you mean {' or '.join(near)}?)" if near else ""

    def tolerance(self, dtype: str, device: str) -> tuple[float, float]:
        return self.tolerances[dtype][device]


def _limits(node: Node, default: Limits | None) -> Limits:
    required = ("time_s", "memory_mb") if default is None else ()
    m = node.mapping(required, () if default is None else ("time_s", "memory_mb"))
    time_s = m["time_s"].scalar(NUMBER, positive) if "time_s" in m else default.time_s  # type: ignore[union-attr]
    memory = m["memory_mb"].scalar(int, positive) if "memory_mb" in m else default.memory_mb  # type: ignore[union-attr]
    if memory < 256:
        raise (m.get("memory_mb") or node).error(f"must be at least 256 (MiB), got {memory}")
    return Limits(float(time_s), int(memory))


NAMES_FORMAT = "deepgrade-names/1"


def resolves(name: str) -> bool:
    """Whether a banned name (``torch.nn.functional.relu``, ``torch.autograd.*``) names a real object.

    The answers are kept in the cache folder for the installed libraries' versions (:mod:`grader.cache`):
    once a name was looked up, loading the course imports none of the libraries it names."""
    known = _known_names()
    if name not in known:
        known[name] = _resolves(name)
        where = cache.folder()
        if where is not None:
            cache.write(where / "names.json", NAMES_FORMAT, cache.versions(), json.dumps(known).encode())
    return known[name]


@functools.lru_cache(maxsize=1)
def _known_names() -> dict[str, bool]:
    where = cache.folder()
    body = cache.read(where / "names.json", NAMES_FORMAT, cache.versions()) if where is not None else None
    try:
        table = json.loads(body) if body is not None else {}
    except ValueError:
        table = None
    if not isinstance(table, dict) or not all(type(v) is bool for v in table.values()):
        return {}
    return table


def _resolves(name: str) -> bool:
    parts = name.removesuffix(".*").split(".")
    for cut in range(len(parts), 0, -1):  # the longest importable prefix, then attributes
        try:
            obj = importlib.import_module(".".join(parts[:cut]))
        except ImportError:
            continue
        for attr in parts[cut:]:
            if not hasattr(obj, attr):
                return False
            obj = getattr(obj, attr)
        return True
    return False


def _banned(node: Node) -> tuple[str, ...]:
    """Qualified names (``torch.nn.functional.conv2d``), a module (``torch.autograd``) or ``module.*``.

    Each must name something that exists: a misspelt name would ban nothing."""
    names = []
    for item in node.sequence():
        name = item.scalar(str, lambda v: None if BANNED_NAME.match(v) else
                           f"'{v}' is not a qualified name like torch.nn.functional.relu or torch.autograd.*")
        if name in names:
            raise item.error(f"'{name}' is listed twice")
        if not resolves(name):
            raise item.error(f"'{name}' does not name anything in {name.split('.')[0]} (misspelt?): it would ban "
                             "nothing")
        names.append(name)
    return tuple(names)


def _deadline(node: Node) -> dt.datetime:
    value = node.scalar((dt.datetime, str))
    if isinstance(value, str):
        try:
            value = dt.datetime.fromisoformat(value)
        except ValueError:
            raise node.error(f"expected an ISO 8601 date-time, got {value!r}") from None
    if value.tzinfo is None:
        raise node.error("a deadline needs a time zone (e.g. 2027-02-15T23:59:00+00:00)")
    return value


def _devices(node: Node) -> tuple[str, ...]:
    devices = tuple(n.scalar(str, one_of(DEVICES, "device")) for n in node.sequence())
    if "cpu" not in devices:
        raise node.error("must include cpu")
    if len(set(devices)) != len(devices):
        raise node.error("lists a device twice")
    return devices


def _tolerances(node: Node, devices: tuple[str, ...], errors: Errors) -> dict[str, dict[str, tuple[float, float]]]:
    tolerances: dict[str, dict[str, tuple[float, float]]] = {}
    tol_map = node.mapping((), DTYPES)
    if "float64" not in tol_map or "float32" not in tol_map:
        errors.add(node.error("needs at least float64 and float32"))
    for dtype, dnode in tol_map.items():
        tolerances[dtype] = errors.attempt(lambda dnode=dnode: _tolerance(dnode, devices), {})
    return tolerances


def _tolerance(node: Node, devices: tuple[str, ...]) -> dict[str, tuple[float, float]]:
    per_device = node.mapping((), DEVICES)
    for device in devices:
        if device not in per_device:
            raise node.error(f"missing key '{device}' (every listed device needs a tolerance)")
    out = {}
    for device, tnode in per_device.items():
        t = tnode.mapping(("rtol", "atol"))
        out[device] = (float(t["rtol"].scalar(NUMBER, non_negative)), float(t["atol"].scalar(NUMBER, non_negative)))
    return out


def _suites(node: Node) -> dict[str, SuiteConfig]:
    suites = {}
    # The hidden suite may be left out: a student repository's course.yaml (grader release
    # --student-repo) holds the public suite only, so that no hidden seed ever reaches students.
    for sname, snode in node.mapping(SUITES[:1], SUITES[1:]).items():
        s = snode.mapping(("seed", "cases"))
        suites[sname] = SuiteConfig(s["seed"].scalar(int, non_negative), s["cases"].scalar(int, positive))
    return suites


def _budgets(node: Node, limits: Limits) -> Budgets:
    b = node.mapping((), ("assignment_s", "submission_s"))
    assignment = float(b["assignment_s"].scalar(NUMBER, positive)) if "assignment_s" in b \
        else DEFAULT_BUDGETS.assignment_s
    submission = float(b["submission_s"].scalar(NUMBER, positive)) if "submission_s" in b \
        else DEFAULT_BUDGETS.submission_s
    if assignment < limits.time_s:
        raise (b.get("assignment_s") or node).error(
            f"must be at least limits.time_s ({limits.time_s:g}), got {assignment:g}: one task could not finish")
    if submission < assignment:
        raise (b.get("submission_s") or node).error(
            f"must be at least budgets.assignment_s ({assignment:g}), got {submission:g}")
    return Budgets(assignment, submission)


def _late_policy(node: Node) -> LatePolicy:
    lp = node.mapping(("penalty_per_day", "cap"), ("grace_minutes",))
    return LatePolicy(float(lp["grace_minutes"].scalar(NUMBER, non_negative)) if "grace_minutes" in lp else 0.0,
                      float(lp["penalty_per_day"].scalar(NUMBER, fraction)), float(lp["cap"].scalar(NUMBER, fraction)))


def _assignment(anode: Node, limits: Limits, seen: dict[str, str], errors: Errors) -> AssignmentConfig:
    a = anode.mapping(("id", "title"), ("title_zh", "available", "deadline", "tasks", "banned"), errors)
    aid = a["id"].scalar(str, lambda v: None if ASSIGNMENT_ID.match(v) else
                         f"'{v}' is not an assignment id like a02_mlp_backprop")
    prefix = aid.split("_", 1)[0]
    if aid in seen or prefix in seen:
        raise a["id"].error(f"duplicate assignment id '{aid}'")
    seen[aid] = seen[prefix] = aid
    available = errors.attempt(lambda: a["available"].scalar(bool), False) if "available" in a else True
    common = errors.attempt(lambda: _banned(a["banned"]), ()) if "banned" in a else ()
    if available and "tasks" not in a:
        errors.add(anode.error("an available assignment needs tasks"))
    tasks = [errors.attempt(lambda tnode=tnode: _task(tnode, prefix, limits, common, seen, errors))
             for tnode in (errors.attempt(a["tasks"].sequence, []) if "tasks" in a else [])]
    deadline = errors.attempt(lambda: _deadline(a["deadline"])) if "deadline" in a else None
    title_zh = errors.attempt(lambda: a["title_zh"].scalar(str), "") if "title_zh" in a else ""
    return AssignmentConfig(aid, errors.attempt(lambda: a["title"].scalar(str), ""), available, deadline,
                            tuple(t for t in tasks if t is not None), anode.line, title_zh)


def _task(tnode: Node, prefix: str, limits: Limits, common: tuple[str, ...], seen: dict[str, str],
          errors: Errors) -> TaskConfig:
    t = tnode.mapping(("id", "points"), ("limits", "banned"), errors)
    tid = t["id"].scalar(str, lambda v: None if TASK_ID.match(v) else
                         f"'{v}' is not a task id like {prefix}.affine_backward")
    if not tid.startswith(prefix + "."):
        raise t["id"].error(f"task '{tid}' must start with '{prefix}.'")
    if tid in seen:
        raise t["id"].error(f"duplicate task id '{tid}'")
    seen[tid] = tid
    own = _banned(t["banned"]) if "banned" in t else ()
    return TaskConfig(tid, float(t["points"].scalar(NUMBER, positive)),
                      _limits(t["limits"], limits) if "limits" in t else limits, tuple(dict.fromkeys(common + own)),
                      tnode.line)


DEFAULT_LIMITS = Limits(60.0, 4096)  # stands in while the file's own limits are in error


def parse(text: str, file: str = "course.yaml") -> Course:
    """The course in ``text``; every error in it at once, each naming its line and key."""
    course, messages = read(text, file)
    if messages:
        raise ConfigError(*messages)
    return course


def read(text: str, file: str = "course.yaml") -> tuple[Course, list[str]]:
    """What of the course in ``text`` could be read, and every error found on the way (a file that is
    not YAML at all raises). ``grader validate`` adds the suites' own mismatches to these."""
    errors = Errors()
    top = compose(text, file).mapping(("course", "devices", "tolerances", "limits", "suites", "assignments"),
                                       ("late_policy", "budgets", "language"), errors)
    name = errors.attempt(lambda: top["course"].scalar(str), "")
    devices = errors.attempt(lambda: _devices(top["devices"]), ("cpu",))
    tolerances = errors.attempt(lambda: _tolerances(top["tolerances"], devices, errors), {})
    limits = errors.attempt(lambda: _limits(top["limits"], None), DEFAULT_LIMITS)
    suites = errors.attempt(lambda: _suites(top["suites"]), {})
    late = errors.attempt(lambda: _late_policy(top["late_policy"]), None) if "late_policy" in top else None
    budgets = errors.attempt(lambda: _budgets(top["budgets"], limits), DEFAULT_BUDGETS) if "budgets" in top \
        else DEFAULT_BUDGETS
    language = errors.attempt(lambda: top["language"].scalar(str, one_of(i18n.LANGUAGES, "language")), None) \
        if "language" in top else None
    seen: dict[str, str] = {}
    assignments = [errors.attempt(lambda anode=anode: _assignment(anode, limits, seen, errors))
                   for anode in errors.attempt(lambda: top["assignments"].sequence(), [])]
    return Course(name, devices, tolerances, limits, suites, late or LatePolicy(0.0, 0.0, 0.0),
                  tuple(a for a in assignments if a is not None), Path(file), budgets, language), errors.messages


def load(path: str | Path) -> Course:
    course, messages = load_partly(path)
    if messages:
        raise ConfigError(*messages)
    return course


def load_partly(path: str | Path) -> tuple[Course, list[str]]:
    """:func:`read` of the file at ``path``."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"{p}: no such file") from None
    except (OSError, UnicodeDecodeError) as e:
        raise ConfigError(f"{p}: cannot read: {e}") from None
    course, messages = read(text, str(p))
    return dataclasses.replace(course, path=p), messages
