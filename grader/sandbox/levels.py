"""Isolation levels: which of them this machine gives, each layer verified from inside a child, and
which one a grading runs under.

Always (the process level): a fresh directory, a clean environment, ``python -I -S``, its own
session, resource limits and a wall clock per task. Where the machine allows it (root, or an
ordinary user where user namespaces are allowed, see :mod:`grader.sandbox.inside.isolation`)
also no network and its own PID namespace (the namespaces level), and a uid of its own and a
private file system (the full level).
"""
from __future__ import annotations

import functools
import json
import os
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from grader.results import SandboxInfo
from grader.sandbox import bundle as bundles
from grader.sandbox.inside import isolation

PROBE = (
    "import sys, json; c = json.loads(sys.argv[1]); sys.path[:0] = c['paths']; "
    "import grader.sandbox.inside.verify as v; v.probe(c['isolation'], c['hidden'])"
)


@dataclass(frozen=True)
class Isolation:
    """The isolation level a grading ran under, the optional layers it has, and how they were made."""

    level: str
    layers: tuple[str, ...]
    via: str | None = None  # root | user-namespace; None at the process level

    def info(self) -> SandboxInfo:
        missing = [layer for layer in isolation.LAYERS["full"] if layer not in self.layers]
        return SandboxInfo(self.level, ["session", "clean-environment", "resource-limits", "timeout", *self.layers],
                           missing, self.via)

    def describe(self) -> str:
        return self.info().describe()


class IsolationRefused(Exception):
    """The machine cannot give the isolation level that was required."""


def platform_gap() -> str:
    """Why this platform gives no namespace layer at all ("" on Linux, where the probe decides)."""
    if not sys.platform.startswith("linux"):
        return f"this platform ({sys.platform}) has no Linux namespaces"
    return ""


@functools.lru_cache(maxsize=None)
def detect(device: str = "cpu", via: str = "auto") -> Isolation:
    """Probe, once per process, the strongest level this machine gives, each layer verified from inside.

    ``via``: ``auto`` tries root's way where the grader is root, then the user namespace way;
    ``root`` or ``user-namespace`` tries that way only (a root machine can test the laptop's).
    Where only the process level is left, it says so once, on stderr, with the reason.
    """
    if via not in ("auto", *isolation.VIAS):
        raise IsolationRefused(f"unknown way to isolate '{via}' (auto, {', '.join(isolation.VIAS)})")
    found = Isolation("process", ())
    if not platform_gap():
        for level in ("full", "namespaces"):
            for way in ways(via):
                candidate = Isolation(level, tuple(isolation.LAYERS[level]), way)
                if _probe(candidate, device):
                    return candidate
    if not _said:
        _said.append(via)
        print(f"grader: grading at the process level only: {why_not(device, via)}. A submission here runs as "
              "you, with your files and network; `grader sandbox` shows each layer and how to enable it.",
              file=sys.stderr)
    return found


_said: list[str] = []  # whether the process level was announced already (once per process)


def ways(via: str = "auto") -> list[str]:
    """The ways to the namespace layers ``via`` tries, in order."""
    if via != "auto":
        return [via]  # root's way probed by an ordinary user simply fails its probe
    return ["root", "user-namespace"] if os.geteuid() == 0 else ["user-namespace"]


def reasons(device: str = "cpu", via: str = "auto") -> dict[str, str]:
    """Each layer of the full level -> why it does not hold ("" when it does), by the way that holds the most."""
    gap = platform_gap()
    if gap:
        return {layer: gap for layer in isolation.LAYERS["full"]}
    found = [_probe_report(Isolation("full", tuple(isolation.LAYERS["full"]), way), device) for way in ways(via)]
    return min(found, key=lambda why: sum(1 for reason in why.values() if reason))


def why_not(device: str = "cpu", via: str = "auto", level: str = "full") -> str:
    """The failing layers of ``level`` and each one's reason, in one line."""
    why = reasons(device, via)
    return "; ".join(f"{layer}: {why[layer]}" for layer in isolation.LAYERS[level] if why.get(layer)) or \
        f"every layer of {level} holds"


def _probe(iso: Isolation, device: str) -> bool:
    """Whether a child given ``iso`` sets up every layer and finds each holding, from inside."""
    return not any(_probe_report(iso, device).values())


@functools.lru_cache(maxsize=None)
def _probe_report(iso: Isolation, device: str) -> dict[str, str]:
    """A cold probe child given ``iso``: each of its layers -> why it does not hold ("" when it does)."""
    with tempfile.TemporaryDirectory(prefix="probe-") as tmp:
        root = Path(tmp)
        _, plan = bundles.probe_layout(root, iso.layers, iso.via, device)
        config = {"paths": [plan["code"]], "isolation": plan, "hidden": bundles.hidden()}
        try:
            out = subprocess.run([sys.executable, "-I", "-S", "-c", PROBE, json.dumps(config)],
                                 cwd=root, env={"PATH": "/usr/bin:/bin"}, stdin=subprocess.DEVNULL,
                                 capture_output=True, timeout=30, start_new_session=True)
            why = json.loads(out.stdout or b"{}")
            failed = out.stderr.decode(errors="replace").strip().splitlines()[-1:] or [f"exit status {out.returncode}"]
        except subprocess.TimeoutExpired:
            why, failed = {}, ["the probe did not finish within 30 s"]
        except (ValueError, OSError) as e:
            why, failed = {}, [f"the probe's answer could not be read ({e})"]
    if not isinstance(why, dict) or set(why) != set(iso.layers):
        return {layer: f"the probe child did not report: {failed[0]}" for layer in iso.layers}
    return {layer: str(why[layer]) for layer in iso.layers}


def choose(device: str, use: str = "auto", require: str | None = None, via: str = "auto") -> Isolation:
    """The isolation to grade under: the strongest available (or ``use``), never below ``require``."""
    for name in (use, require):
        if name is not None and name != "auto" and name not in isolation.LEVELS:
            raise IsolationRefused(f"unknown isolation level '{name}' ({', '.join(isolation.LEVELS)})")
    best = detect(device, via)
    rank = isolation.LEVELS.index
    if require is not None and rank(best.level) < rank(require):
        raise IsolationRefused(
            f"--require-isolation {require}: this machine gives only {best.describe()}. "
            f"Not holding: {why_not(device, via, require)}. `grader sandbox` shows how to enable each layer; "
            "grade there, or lower the requirement.")
    if use == "auto" or use == best.level:
        return best
    if rank(use) > rank(best.level):
        raise IsolationRefused(f"isolation '{use}' asked for, but this machine gives only {best.describe()}")
    if require is not None and rank(use) < rank(require):
        raise IsolationRefused(f"isolation '{use}' is below the required '{require}'")
    if use == "process":
        return Isolation("process", ())
    chosen = Isolation(use, tuple(isolation.LAYERS[use]), best.via)
    if not _probe(chosen, device):  # e.g. Python installed where only the file-system layer lets the uid read it
        why = "; ".join(f"{layer}: {r}" for layer, r in _probe_report(chosen, device).items() if r)
        raise IsolationRefused(f"isolation '{use}' does not hold on this machine ({why}; it gives {best.describe()})")
    return chosen
