"""The banned-operation scan of one assignment's tasks, run where it costs a grading least, never skipped.

The scan (:mod:`grader.judge.scan`) follows the names a submission writes to torch's own objects,
so it needs torch. A grading process that has not imported torch (its expected values came from
the cache) borrows the fork server's (:mod:`grader.sandbox.warm`): the server forks a scan child,
which imports the scan, reads the submission's files as this process would and answers each task's
first finding, and is kept for this process's next scans (its caches, like this process's, warm).
The child is the grader's own code, not sandboxed: it never runs the submission. The server never
reads a submission, so the sandboxed children forked from it later hold none of what the scan child
read. This module imports no torch; where there is no fork
server, or this process holds torch already (its scans' caches warm from earlier gradings, and a
child would only add a fork and a cold start), the scan runs here, as it always did.

The scan follows a name through the modules its process has loaded (and imports no other, but
for the libraries it knows): the scan child first imports the installed modules (the standard
library's, site-packages') this process holds, so that it follows at least every name this
process's own scan would (a submission's ``rich.console.sys.modules`` is ``sys.modules`` wherever
the grader has loaded rich). Nothing else: never the grader's or the course's code, nor a module
of a submission's that a process (a student's pytest) may have imported.

A scan child that does not start, dies or answers nonsense leaves the scan to this process (the
same code, the same findings, torch imported here for it); one that does not answer within
:data:`SCAN_TIMEOUT_S` is killed and every task it was asked about is refused, unscanned.
"""
from __future__ import annotations

import importlib
import json
import os
import sys
import sysconfig
import traceback
from pathlib import Path
from typing import Sequence

from grader import i18n
from grader.i18n import _
from grader.tasks.arrays import torch_loaded

NOT_SENT = ("__main__", "__mp_main__", "grader", "reference", "tests")  # the grader's and the course's own code
SCAN_TIMEOUT_S = 60.0  # an assignment scans in well under 2 s: a child this late is stuck on the submission

Job = tuple[str, str, tuple[str, ...]]  # (module, function, banned) of one task


def first_findings(folder: Path, jobs: Sequence[Job]) -> list[str | None]:
    """For each job, in order, the first finding of ``scan.scan(folder / f"{module}.py", function, banned)``
    as its :meth:`describe` says it in the current language, or None where it found nothing. A job with
    nothing banned is not scanned at all."""
    said: list[str | None] = [None] * len(jobs)
    asked = [i for i, job in enumerate(jobs) if job[2]]
    if not asked:
        return said
    todo = [(module, function, tuple(banned)) for module, function, banned in (jobs[i] for i in asked)]
    found = None if torch_here() else in_scan_child(folder, todo)
    for i, text in zip(asked, found if found is not None else here(folder, todo)):
        said[i] = text
    return said


def torch_here() -> bool:
    """Whether this process has imported torch (then it scans itself)."""
    return torch_loaded() is not None


def here(folder: Path, jobs: Sequence[Job]) -> list[str | None]:
    """:func:`first_findings` of jobs that all ban something, scanned in this process (which imports torch)."""
    from grader.judge import scan
    return [found[0].describe() if found else None for found in scan.scan_all(folder, jobs)]


def in_scan_child(folder: Path, jobs: Sequence[Job]) -> list[str | None] | None:
    """:func:`here`, in a scan child of this process's fork server; None where there is no server started or
    the child did not answer (the caller scans here); each job refused where the child ran out of time."""
    from grader.sandbox import warm
    server = warm.running()
    if server is None:
        return None
    request = json.dumps({"folder": str(folder.absolute()), "jobs": [list(job) for job in jobs],
                          "lang": i18n.current(), "modules": installed_modules()}).encode()
    try:
        answer = json.loads(server.scan(__name__, request, SCAN_TIMEOUT_S))
    except TimeoutError:
        return [_("the banned-operation scan did not finish within {seconds} s, so the task is not run",
                  seconds=int(SCAN_TIMEOUT_S))] * len(jobs)
    except (OSError, ValueError):  # the server's or the child's failure (warm.ForkServerError is an OSError)
        return None
    said = answer.get("found") if isinstance(answer, dict) else None
    if not isinstance(said, list) or len(said) != len(jobs) or not all(s is None or isinstance(s, str) for s in said):
        return None  # the scan raised there ("error"): here it raises as it always did
    return said


_judged: dict[tuple[str, str], bool] = {}  # (module name, origin) -> whether it is installed code


def installed_modules() -> list[str]:
    """The modules this process holds that are installed code: built in, or files of the standard library
    or of site-packages (the grader's own, the course's and anything else left out). Each module is judged
    once per name and origin (resolving a path's links is what costs: a process scans once per assignment)."""
    where = sysconfig.get_paths()
    roots = tuple({os.path.realpath(where[k]) + os.sep for k in ("stdlib", "platstdlib", "purelib", "platlib")})
    found = []
    for name, module in list(sys.modules.items()):
        origin = getattr(getattr(module, "__spec__", None), "origin", None)
        if name.split(".")[0] in NOT_SENT or not isinstance(origin, str):
            continue
        known = _judged.get((name, origin))
        if known is None:
            known = _judged[(name, origin)] = origin in ("built-in", "frozen") or \
                os.path.realpath(origin).startswith(roots)
        if known:
            found.append(name)
    return sorted(found)


def serve(request_fd: int, response_fd: int) -> None:
    """The scan child's side (run by :mod:`grader.sandbox.inside.forkserver`), until its request pipe closes:
    each request's jobs scanned in its language, the answer ``{"found": [...]}``, or ``{"error": traceback}``
    where the scan raised; both ways each message is 8 bytes of length, then JSON."""
    with os.fdopen(request_fd, "rb") as requests, os.fdopen(response_fd, "wb") as answers:
        while len(size := requests.read(8)) == 8:
            request = json.loads(requests.read(int.from_bytes(size, "big")))
            _load([name for name in request.get("modules", ()) if name not in sys.modules and name not in _UNLOADABLE])
            try:
                with i18n.using(request["lang"]):
                    jobs = [(module, function, tuple(banned)) for module, function, banned in request["jobs"]]
                    answer = {"found": here(Path(request["folder"]), jobs)}
            except Exception:  # noqa: BLE001  (the grading process scans again, and raises what it raises)
                answer = {"error": traceback.format_exc()}
            data = json.dumps(answer).encode()
            answers.write(len(data).to_bytes(8, "big") + data)
            answers.flush()


_UNLOADABLE: set[str] = set()  # in the scan child: not tried again


def _load(names: list[str]) -> None:
    """Import these modules (installed code the grading process imported already); a name followed before
    is followed again, through them."""
    for name in names:
        try:
            importlib.import_module(name)
        except Exception:  # noqa: BLE001  (not importable here: no name through it is followed, as before)
            _UNLOADABLE.add(name)
    if names:
        from grader.sandbox import resolve
        resolve.reach.cache_clear()
