"""The sandbox's :class:`grader.sandbox.runner.Runner`: a submission's tasks run in sandboxed children
(:mod:`grader.sandbox.process`), one request at a time, each with a fresh token the answer must echo.
A task's next case is already in the child's pipe while the current one runs (when it is small:
:data:`AHEAD_MAX_BYTES`), so the child goes from case to case without waiting for the grader; the
answers still come one by one, in order, each checked against its own token.

A task that hangs or kills its process costs that task only, and a fresh child carries on with
the rest; each of the submission's modules is imported once under its own limit before a task
uses it; a task that calls a task already lost is not run.
"""
from __future__ import annotations

import secrets
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from grader.course.config import Limits
from grader.i18n import _, ngettext
from grader.results import RunStatus, SandboxInfo
from grader.sandbox import bundle as bundles
from grader.sandbox import resolve
from grader.sandbox import warm as warm_children
from grader.sandbox.inside import wire
from grader.sandbox.inside.findings import Violation
from grader.sandbox.inside.messages import STATUSES, ImportRequest, Ready, Reply, TaskRequest
from grader.sandbox.levels import Isolation, choose, detect
from grader.sandbox.process import OUTPUT_TAIL, Child
from grader.sandbox.runner import Budget, Key, Request, Response

STARTUP_TIMEOUT_S = 120.0
RETIRE_TIMEOUT_S = 5.0   # a child told to stop has this long to exit on its own
SPARE_AFTER_S = 3.0      # a request still running this long gets a spare process started beside it
SETTLE_S = 1.0           # a task ended by a failed case waits this long for its next case, already sent
AHEAD_MAX_BYTES = 32 * 1024  # a next case this large is sent when its turn comes, not ahead


@dataclass(frozen=True)
class _Sent:
    """A case in the child's pipe: the request, the token its answer must echo, when it was sent."""

    req: Request
    token: str
    at: float


def runner_for(device: str, isolation: str = "auto", require: str | None = None, via: str = "auto",
               probed: Isolation | None = None) -> SandboxRunner:
    """The sandbox every grading of students' code runs in, on ``device`` (cpu or cuda, as
    :meth:`grader.course.config.Course.device` resolved it): at the level ``isolation`` (``auto``: the
    strongest this machine gives), never below ``require``, its namespace layers made ``via`` root or a
    user namespace (``auto``: root's way where the grader is root). ``probed``: the isolation already
    chosen on this machine (a batch's coordinator probes once for its workers). Raises
    :class:`grader.sandbox.levels.IsolationRefused` where the machine cannot give what is asked."""
    return SandboxRunner(device, probed if probed is not None else choose(device, isolation, require, via))


class SandboxRunner:
    """The :class:`grader.sandbox.runner.Runner` for students' code: sandboxed children, one task at a time.

    What a submission does wrong costs it, not the grader: each module is imported once under
    its own budget before a task uses it, so a module that hangs or crashes at import costs one
    limit and the tasks that need it fail at once; a task that calls a task that already timed
    out or crashed fails at once; a patched library is put back in place rather than paid for
    with a fresh process; and a ``budget`` bounds the whole assignment.
    A task's first failing case ends the task (the rest would not change its score). A reply
    that comes twice for one token (a forked process or a forged message) fails the task it
    claims to answer; the request that met it is sent again to a fresh process.
    """

    def __init__(self, device: str = "cpu", iso: Isolation | None = None, warm: bool = True):
        self.device = device
        self.iso = iso if iso is not None else detect(device)
        self.warm = warm  # children forked from this process's fork server (see grader.sandbox.warm)

    @property
    def sandbox(self) -> SandboxInfo:
        return self.iso.info()

    def run(self, submission: Path, assignment: str, requests: list[Request],
            limits: dict[str, Limits], budget: Budget | None = None) -> dict[Key, Response]:
        by_task: dict[str, list[Request]] = {}
        for r in requests:
            by_task.setdefault(r.task, []).append(r)
        with bundles.session_root() as root:
            session = _Session(root, submission, assignment, self.device, self.iso, limits, by_task, budget,
                               self.warm)
            try:
                for reqs in by_task.values():
                    session.run_task(reqs)
            finally:
                session.close()
        return session.results


class _Session:
    """One assignment's requests in sandboxed children: a fresh child whenever the last one is gone."""

    def __init__(self, root: Path, submission: Path, assignment: str, device: str, iso: Isolation,
                 limits: dict[str, Limits], by_task: dict[str, list[Request]], budget: Budget | None,
                 warm: bool = False):
        self.root, self.assignment, self.device, self.iso, self.warm = root, assignment, device, iso, warm
        self.limits, self.by_task, self.budget = limits, by_task, budget
        self.memory = max((limits[t].memory_mb for t in by_task), default=0)
        self.cpu_budget = int(sum(limits[t].time_s for t in by_task)) + 60
        self.code = bundles.shared_code(iso.layers)  # None: the bundle holds a copy of its own
        self.bundle = bundles.make(root, assignment, submission, self.code)
        self.child: Child | None = None
        self.spare: Child | None = None         # started beside a slow request, used by the next start
        self.answered: dict[str, Request] = {}  # tokens the current child has answered
        self.results: dict[Key, Response] = {}
        self.lost: dict[str, str] = {}          # task -> why it never finished (timed out, crashed, blocked)
        self.modules: dict[str, tuple[RunStatus, str, str] | None] = {}  # None: imports; else why not, detail
        self.imports: dict[str, list[str]] = {}  # module -> the submission's modules it needs, those first
        self.restart_after_task = ""            # the child must go before the next task, and why
        self.start_failure = ""                 # what the last child that did not start printed

    def run_task(self, reqs: list[Request]) -> None:
        """Every case of one task, each under the task's one wall-clock budget. The next case is sent
        before the current one is answered (when the child is well and the task goes on), so the child
        goes from one case to the next without waiting for the grader between them."""
        first = reqs[0]
        limit = self.limits[first.task].time_s
        stop = self._out_of_budget(first) or self._module_problem(first, limit) or self._blocked(first)
        if stop is not None:
            self._fill(reqs, stop)
            self._note_lost(stop)
            return
        deadline: float | None = None
        k, retried = 0, False
        ahead: _Sent | None = None  # the next case, already in the child's pipe
        answered_at: float | None = None  # when the case before this one was answered (its child free again)
        while k < len(reqs):
            req = reqs[k]
            if self.child is None:
                ahead, answered_at = None, None
                started = time.monotonic()
                if not self._start():
                    self._fill(reqs[k:], self._not_started(req))
                    return
                if deadline is not None:  # a fresh process mid-task: its start is not the task's time
                    deadline += time.monotonic() - started
            if deadline is None:
                deadline = time.monotonic() + limit
            sent = ahead if ahead is not None and ahead.req is req else self._send(req, self._until(deadline))
            ahead = self._send(reqs[k + 1], self._until(deadline), AHEAD_MAX_BYTES) \
                if sent is not None and k + 1 < len(reqs) else None
            reply = self._wait(self._until(deadline)) if sent is not None else \
                (TimeoutError() if self.child.proc.poll() is None else EOFError())
            now = time.monotonic()
            token = sent.token if sent is not None else ""
            took = now - max(sent.at if sent is not None else now, answered_at or 0.0)
            answered_at = now
            if isinstance(reply, Reply) and reply.token == token and reply.task == req.task and reply.case == req.case:
                response = self._accept(req, reply, token)
                response.time_s = took
                if response.status != RunStatus.OK:
                    self._fill(reqs[k + 1:], response)
                    self._settle(ahead, deadline)
                    break
                k += 1
                continue
            if isinstance(reply, Reply) and reply.token in self.answered and not retried:
                self._answered_twice(self.answered[reply.token])
                self._drop_child()
                retried = True
                continue  # the same request again, in a fresh process
            self._lose(reqs[k:], reply, limit, deadline)
            self.results[(req.task, req.case)].time_s = took
            break
        if self.restart_after_task:
            self._retire()

    def _send(self, req: Request, deadline: float, max_bytes: int | None = None) -> _Sent | None:
        """Send one case to the child with a fresh token; None where the child did not take it by ``deadline``
        (it stopped reading, or it is gone), or where it is larger than ``max_bytes`` (then not sent at all:
        a case sent ahead never keeps the grader writing while the case before it runs)."""
        assert self.child is not None
        token = secrets.token_hex(16)
        data = Child.encode(TaskRequest(req.task, req.case, req.inputs, token, req.own_gradient, req.banned))
        if max_bytes is not None and len(data) > max_bytes:
            return None
        at = time.monotonic()
        return _Sent(req, token, at) if self.child.write(data, deadline) else None

    def _settle(self, ahead: _Sent | None, deadline: float) -> None:
        """The task ended at a failed case while its next case was already sent: that case's answer is
        awaited (for at most :data:`SETTLE_S`) and put aside, so the child is free for the next task; one
        that does not come, or comes wrong, costs the child."""
        if ahead is None or self.child is None:
            return
        reply = self._wait(min(self._until(deadline), time.monotonic() + SETTLE_S), spare=False)
        if isinstance(reply, Reply) and reply.token == ahead.token:
            self.answered[ahead.token] = ahead.req
            if reply.restart:
                self._retire()
            return
        if isinstance(reply, Reply) and reply.token in self.answered:
            self._answered_twice(self.answered[reply.token])
        self._drop_child()

    def _until(self, deadline: float) -> float:
        """The task's deadline, or the budget's where that comes first."""
        return min(deadline, self.budget.deadline) if self.budget is not None else deadline

    def _out_of_budget(self, req: Request) -> Response | None:
        if self.budget is not None and time.monotonic() >= self.budget.deadline:
            why = _("{budget} ran out before this task", budget=self.budget.describe())
            return Response(req.task, req.case, RunStatus.OUT_OF_BUDGET, before_run=True, reason=why,
                            message=_("not run: {why}", why=why))
        return None

    def _blocked(self, req: Request) -> Response | None:
        """Not run at all: a task it calls already timed out, crashed or could not be run."""
        for called in req.calls:
            if called in self.lost:
                why = _("it calls {task}, which {what}", task=called, what=self.lost[called])
                return Response(req.task, req.case, RunStatus.BLOCKED, before_run=True, blocked_by=called,
                                reason=why, message=_("not run: {why}", why=why))
        return None

    def _note_lost(self, response: Response) -> None:
        """Remember a task that never finished, so the tasks that call it are not run to find out again."""
        if response.before_run:
            self.lost[response.task] = _("was not run: {why}", why=response.reason or response.message)
            return
        why = {RunStatus.TIMEOUT: _("did not finish within its {seconds} s limit",
                                    seconds=format(self.limits[response.task].time_s, "g")),
               RunStatus.CRASHED: _("made the sandboxed process exit")}.get(response.status)
        if why is not None:
            self.lost[response.task] = why

    def _module_problem(self, req: Request, limit: float) -> Response | None:
        """Import the task's module and what it imports from the submission, each once under its own
        budget; a module that hung, crashed or left something running stops every task that needs it."""
        if not req.module:
            return None
        if req.module not in self.imports:
            self.imports[req.module] = _local_imports(self.bundle / "submission" / self.assignment, req.module)
        for module in self.imports[req.module]:
            if module not in self.modules:
                if self.child is None and not self._start():
                    return self._not_started(req)
                self.modules[module] = self._import(module, limit)
            problem = self.modules[module]
            if problem is not None:
                status, phrase, detail = problem
                said = _("{module}.py {what}", module=req.module, what=phrase) if module == req.module else \
                    _("{module}.py imports {imported}.py, which {what}", module=req.module, imported=module,
                      what=phrase)
                return Response(req.task, req.case, status, message=said, stdout=detail, before_run=True, reason=said)
        return None

    def _import(self, module: str, limit: float) -> tuple[RunStatus, str, str] | None:
        """Import ``module`` in the running child: None if it imports cleanly, else (status, why, detail)."""
        assert self.child is not None
        token = secrets.token_hex(16)
        started = time.monotonic()
        deadline = self._until(started + limit)
        ok = self.child.send(ImportRequest(module, token), deadline)
        reply: Any = self._wait(deadline) if ok else \
            (TimeoutError() if self.child.proc.poll() is None else EOFError())
        if isinstance(reply, Reply) and reply.token == token and reply.module == module:
            if reply.restart:
                self._retire()
            if reply.status == "error":  # it raised (a syntax error, a missing package) or left something
                shown = bundles.shown(reply.message, str(self.bundle))[:1000]
                return RunStatus.ERROR, _("could not be imported: {why}", why=shown), \
                    bundles.shown(reply.traceback, str(self.bundle))[-OUTPUT_TAIL:]
            return None
        tail = self.child.output_tail()
        self._drop_child()
        if isinstance(reply, TimeoutError):
            if self.budget is not None and time.monotonic() >= self.budget.deadline and \
                    time.monotonic() - started < limit:
                return RunStatus.OUT_OF_BUDGET, _("was still importing when {budget} ran out",
                                                  budget=self.budget.describe()), tail
            return RunStatus.TIMEOUT, _("did not finish importing within {seconds} s", seconds=format(limit, "g")), tail
        if isinstance(reply, EOFError):
            return RunStatus.CRASHED, _("made the sandboxed process exit while it was imported"), tail
        return RunStatus.ERROR, _("was being imported when the sandboxed process answered out of turn"), tail

    def _new_child(self, warm: bool | None = None) -> Child:
        limit = max((lim.time_s for lim in self.limits.values()), default=60.0)
        return Child(self.root, self.bundle, self.assignment, self.device, Limits(limit, self.memory),
                     self.cpu_budget, self.iso, self.warm if warm is None else warm, self.code)

    def _start(self) -> bool:
        """A fresh child, ready to take requests: the spare if one was started, else a new one. A forked
        child that does not start (the machine briefly out of processes while a killed tree is torn
        down) is followed by one cold child before the task is given up."""
        self.restart_after_task = ""
        self.child, self.spare = (self.spare or self._new_child()), None
        self.answered = {}
        ready = self.child.receive(STARTUP_TIMEOUT_S)
        if not isinstance(ready, Ready) and isinstance(self.child.proc, warm_children.Forked):
            self._drop_child()
            self.child = self._new_child(warm=False)
            ready = self.child.receive(STARTUP_TIMEOUT_S)
        if isinstance(ready, Ready):
            return True
        self.start_failure = self.child.output_tail()
        self._drop_child()
        return False

    def _not_started(self, req: Request) -> Response:
        return Response(req.task, req.case, RunStatus.CRASHED, stdout=self.start_failure,
                        message="the sandboxed process did not start")

    def _wait(self, deadline: float, spare: bool = True) -> Any:
        """The child's answer by ``deadline``. One that is slow in coming may never come (a loop, a hang),
        and its process would then be replaced: a spare starts beside it (unless ``spare`` is False), so the
        replacement costs no start-up on top of the limit."""
        assert self.child is not None
        soon = min(deadline, time.monotonic() + SPARE_AFTER_S)
        reply = self.child.receive(soon - time.monotonic())
        if isinstance(reply, TimeoutError) and time.monotonic() < deadline:
            if spare and self.spare is None:
                self.spare = self._new_child()
            reply = self.child.receive(deadline - time.monotonic())
        return reply

    def _accept(self, req: Request, reply: Reply, token: str) -> Response:
        """Record a proper answer. A task that left something running ends here, and so does its
        process; one whose library patch could not be put back keeps its process to the task's end."""
        response = _response(req, reply, str(self.bundle))
        self.results[(req.task, req.case)] = response
        self.answered[token] = req
        if reply.restart:
            if response.status != RunStatus.OK:
                self._retire()
                if reply.left:
                    self.lost[req.task] = _("left {what} running after it returned", what=_(" and ").join(reply.left))
            else:
                self.restart_after_task = reply.restart_reason or "it changed the process"
                why = _("a fresh process was started after this task: {why}", why=self.restart_after_task)
                response.note = f"{response.note}; {why}" if response.note else why
        return self.results[(req.task, req.case)]

    def _lose(self, rest: list[Request], reply: Any, limit: float, deadline: float) -> None:
        """The child hung, died or spoke out of turn: this task is lost, the rest carry on."""
        assert self.child is not None
        tail = self.child.output_tail()
        self._drop_child()
        status, message = _failure(reply, limit)
        if status == RunStatus.TIMEOUT and self.budget is not None and self._until(deadline) < deadline:
            status, message = RunStatus.OUT_OF_BUDGET, _("{budget} ran out during this task",
                                                         budget=self.budget.describe())
        response = Response(rest[0].task, rest[0].case, status, message=message, stdout=tail)
        self._fill(rest, response)
        self._note_lost(response)

    def _retire(self) -> None:
        """Close the child's requests and let it exit; an answer that still comes is a second one."""
        child, self.child = self.child, None
        self.restart_after_task = ""
        if child is None:
            return
        child.close_requests()
        extra = child.receive(RETIRE_TIMEOUT_S)
        child.kill()
        if isinstance(extra, Reply) and extra.token in self.answered:
            self._answered_twice(self.answered[extra.token])

    def _drop_child(self) -> None:
        self.restart_after_task = ""
        if self.child is not None:
            self.child.kill()
            self.child = None

    def _answered_twice(self, req: Request) -> None:
        self._fill([r for r in self.by_task[req.task] if r.case >= req.case], Response(
            req.task, req.case, RunStatus.ERROR,
            message="the task answered twice (a forked process or a forged message); only the grader's own "
                    "driver may answer"))

    def _fill(self, reqs: list[Request], first: Response) -> None:
        """The same verdict for each of ``reqs`` (the remaining cases of a task that already failed)."""
        for r in reqs:
            self.results[(r.task, r.case)] = first.same_for(r)

    def close(self) -> None:
        self._retire()
        if self.spare is not None:
            self.spare.kill()
            self.spare = None


def _local_imports(folder: Path, module: str) -> list[str]:
    """``module`` and the assignment's modules it imports, directly or not, those first (read, not run):
    the scan's own answer, each file read as the scan reads it (:func:`grader.sandbox.resolve.local_imports`)."""
    return resolve.local_imports(folder, module, resolve.parse_or_none)


def _failure(reply: Any, time_s: float) -> tuple[RunStatus, str]:
    if isinstance(reply, TimeoutError):
        return RunStatus.TIMEOUT, _("the task did not finish within its {seconds} s limit", seconds=format(time_s, "g"))
    if isinstance(reply, wire.WireError):
        return RunStatus.ERROR, _("the sandboxed process sent a malformed answer ({why})", why=reply)
    if isinstance(reply, (Reply, Ready)):
        return RunStatus.ERROR, _("the sandboxed process answered out of turn (or without the request's token)")
    return RunStatus.CRASHED, _("the sandboxed process exited during this task (sys.exit, os._exit, a crash or a "
                                "resource limit)")


def _response(req: Request, reply: Reply, bundle: str) -> Response:
    if reply.status not in STATUSES:
        return Response(req.task, req.case, RunStatus.ERROR, message=f"unknown status {reply.status!r}")
    patched = reply.patched
    note = ngettext("it replaced {names}; the grader put it back (answers are compared outside the sandbox)",
                    "it replaced {names}; the grader put them back (answers are compared outside the sandbox)",
                    len(patched), names=", ".join(patched)) if patched else ""
    return Response(req.task, req.case, RunStatus(reply.status), outputs=reply.outputs, own_gradient=reply.own_gradient,
                    message=bundles.shown(resolve.said(Violation(**reply.violation)) if reply.status == "banned" and
                                          reply.violation else reply.message, bundle)[:1000],
                    traceback=bundles.shown(reply.traceback, bundle)[-OUTPUT_TAIL:],
                    stdout=bundles.shown(reply.stdout, bundle)[-OUTPUT_TAIL:], signature=reply.signature,
                    note=note[:500])
