"""``grader sandbox``: what this machine gives a submission, layer by layer, and how to enable what it does not.

Each row is a layer of the full isolation level (as the probe found it, from inside a child),
then the two things that decide whether neighbours in a batch stay apart: the per-session
process limit and warm children.
"""
from __future__ import annotations

import os
from dataclasses import dataclass

from grader.sandbox import levels, limits, warm
from grader.sandbox.inside import isolation

USERNS_HELP = ("let ordinary users make user namespaces: `sysctl kernel.unprivileged_userns_clone=1` (Debian), "
               "`sysctl user.max_user_namespaces=15000`, `sysctl kernel.apparmor_restrict_unprivileged_userns=0` "
               "(Ubuntu 23.10 and later); in a container, one that allows them (a seccomp profile without the "
               "`unshare` ban), or run the grader as root")
HOW = {
    "network": "a network namespace of its own: needs root or user namespaces",
    "pid": "a PID namespace of its own: needs root or user namespaces",
    "uid": "a uid of its own: needs root or user namespaces, and the Python installation readable by every user",
    "filesystem": "a private root: needs root or user namespaces, and mount inside them (not in every container)",
}


@dataclass(frozen=True)
class Row:
    layer: str
    held: bool
    reason: str   # why it does not hold, or what it gives when it does
    enable: str   # how to get it where it does not hold ("" when it does)


def rows(device: str = "cpu", via: str = "auto") -> list[Row]:
    """The table's rows, probed on this machine (each layer verified from inside a child)."""
    why = levels.reasons(device, via)
    best = levels.detect(device, via)
    out = []
    for layer in isolation.LAYERS["full"]:
        reason = why.get(layer, "")
        out.append(Row(layer, not reason, reason or f"verified from inside (via {best.via or 'user-namespace'})",
                       "" if not reason else _enable(layer, reason)))
    out.append(_process_limit(best))
    out.append(_warm(best, device))
    return out


def _enable(layer: str, reason: str) -> str:
    if "no Linux namespaces" in reason:
        return "grade on Linux: a Linux machine, a virtual machine, or WSL 2 on Windows"
    if "unshare" in reason or "Operation not permitted" in reason or "uid_map" in reason:
        return USERNS_HELP
    return HOW[layer]


def _process_limit(best: levels.Isolation) -> Row:
    """Whether one session's processes and threads are counted apart from its neighbours'."""
    layer = "session process limit"
    if "uid" not in best.layers:
        return Row(layer, False, f"every sandbox counts against your own limit ({limits.process_level_nproc()} "
                   "processes and threads, shared with your other processes)", "the uid layer above")
    if best.via == "root":
        return Row(layer, True, f"{limits.NPROC} per session, under a uid of its own", "")
    if limits.own_count_per_namespace():
        return Row(layer, True, f"{limits.NPROC} per session, counted inside its own user namespace", "")
    return Row(layer, False, f"Linux {os.uname().release} counts every sandbox of a user together (5.14 and "
               "later count each user namespace apart)", "a newer kernel, or grade as root")


def _warm(best: levels.Isolation, device: str) -> Row:
    """Whether a fork server starts here and its probe holds at the level a grading gets."""
    layer = "warm children"
    if not warm.available():
        return Row(layer, False, "no pidfds or descriptor passing here: each child imports torch (about 2.5 s)",
                   "Linux 5.3 or later and Python 3.9 or later")
    if warm.for_level(best, device) is None:
        return Row(layer, False, f"the fork server did not start, or its probe did not hold at the {best.level} "
                   "level: each child imports torch (about 2.5 s)", "the layers above, in a forked child")
    return Row(layer, True, f"forked from a fork server, its probe held at the {best.level} level", "")


def render(table: list[Row], best: levels.Isolation) -> str:
    """The table as text: a line per layer (layer, held, reason), how to enable it below one that does
    not hold, and the level a grading here gets."""
    width = max(len(r.layer) for r in table)
    lines = [f"{'layer':<{width}}  held  reason"]
    for r in table:
        lines.append(f"{r.layer:<{width}}  {'yes' if r.held else 'no ':<4}  {r.reason}")
        if r.enable:
            lines.append(f"{'':<{width}}        how to enable it: {r.enable}")
    lines.append(f"grading here gets {best.describe()}")
    return "\n".join(lines) + "\n"
