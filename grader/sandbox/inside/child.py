"""The sandboxed side of grading: runs a submission's functions on inputs sent by the grader.

Started by :mod:`grader.sandbox.process` as ``python -I -S`` in a fresh directory holding copies
of ``grader/sandbox/inside/`` (this folder), ``grader/tasks/`` with one suite module, and the
submission. It reads requests (:mod:`grader.sandbox.inside.messages`: a task's case with its
inputs and banned names, or a module to import, each with a token) from one pipe and writes one
reply per request to another: the token, the outputs (tensors only) or what went wrong. It never sees expected values. After each task it looks for what the
task left behind (threads, processes, exit handlers, patched library functions): the
grader then starts a fresh process for the next task.
"""
from __future__ import annotations

import _thread
import atexit
import builtins
import contextlib
import errno
import importlib
import inspect
import io
import math
import os
import signal
import sys
import traceback
from dataclasses import dataclass, field
from typing import Any

import numpy
import torch
from torch.overrides import _get_current_function_mode_stack

import grader.tasks.inputs  # noqa: F401  (watched for patches before any suite imports it)
import grader.tasks.suites as suites
from grader.sandbox.inside import guard as banned
from grader.sandbox.inside import isolation
from grader.sandbox.inside import messages, wire
from grader.sandbox.inside.messages import ImportRequest, Ready, Reply, TaskRequest, request_from
from grader.tasks.model import Modules, Task
from grader.tasks.numeric import central_difference, weighted_sum
from grader.tasks.trees import clone, get_path, set_path, to_device

OUTPUT_CAP = 4000  # characters of captured stdout/stderr returned per request


def configure(device: str, threads: int, memory_mb: int) -> None:
    torch.set_num_threads(threads)
    torch.set_grad_enabled(False)  # students write backward passes by hand
    if device == "cuda":
        torch.backends.cuda.matmul.allow_tf32 = False
        torch.backends.cudnn.allow_tf32 = False
        torch.backends.cudnn.benchmark = False
        torch.use_deterministic_algorithms(True)
        total = torch.cuda.get_device_properties(0).total_memory
        torch.cuda.set_per_process_memory_fraction(min(1.0, memory_mb * 2**20 / total))


WATCHED = (torch, torch.Tensor, torch.nn.functional, torch.linalg, torch.testing, numpy, numpy.ndarray,
           numpy.testing, builtins, math, os, sys, wire, messages, messages.Reply, banned, banned.bans,
           *(sys.modules[f"grader.tasks.{name}"] for name in ("dtypes", "inputs", "model", "numeric", "trees")),
           *banned.TRIPWIRE_HOLDERS)  # so a task cannot put torch's unwrapped switches back


SYS_MODULES = ("torch", "numpy", "math", "builtins", "grader.sandbox.inside.wire", "grader.sandbox.inside.messages",
               "grader.sandbox.inside.child")
Watched = list[tuple[Any, dict[str, Any]]]  # (holder, a copy of its attributes)
_GONE = object()


def snapshot() -> Watched:
    """Every library attribute a submission could patch (torch.allclose, numpy.allclose, ...), with its value.

    A copy of each holder's attribute dict: cheap enough to take around every request."""
    modules = {name: sys.modules.get(name) for name in SYS_MODULES}
    return [(obj, dict(vars(obj))) for obj in WATCHED] + [(sys.modules, modules)]


def _label(holder: Any, name: str) -> str:
    if holder is sys.modules:
        return f"sys.modules[{name!r}]"
    return f"{getattr(holder, '__name__', type(holder).__name__)}.{name}"


def _current(holder: Any) -> Any:
    return holder if holder is sys.modules else vars(holder)


_baseline: Watched | None = None


def baseline() -> Watched:
    """The snapshot a request starts from: taken once, and again only after a request changed something
    (between clean requests every watched attribute is as it was, so a fresh copy would be the same)."""
    global _baseline
    if _baseline is None:
        _baseline = snapshot()
    return _baseline


def _unchanged(holder: Any, saved: dict[str, Any]) -> bool:
    """The quick answer for a holder nothing touched: the same entries, each the same object (a C-level
    comparison that stops at identity). Anything else is looked at entry by entry."""
    if holder is sys.modules:
        return all(sys.modules.get(name, _GONE) is value for name, value in saved.items())
    try:
        return vars(holder) == saved
    except Exception:  # noqa: BLE001  (a replaced value whose == raises: the slow way says what changed)
        return False


def _changed(before: Watched) -> list[tuple[Any, str, Any]]:
    """(holder, name, value before) of every watched attribute replaced or removed since ``before``."""
    out = []
    for holder, saved in before:
        if _unchanged(holder, saved):
            continue
        now = _current(holder)
        out += [(holder, name, value) for name, value in saved.items() if now.get(name, _GONE) is not value]
    return out


def restore(before: Watched) -> tuple[list[str], list[str]]:
    """Put back every watched attribute a task replaced or removed: (what was changed, what stayed changed).

    The grader compares in its own process, so a patched library here can only change this
    submission's own answers; putting it back keeps one task's patch from reaching the next
    (the run-time banned-operation check above all), without a fresh process."""
    changed = _changed(before)
    for holder, name, value in changed:
        try:
            if holder is sys.modules:
                sys.modules[name] = value
            else:
                setattr(holder, name, value)
        except Exception:  # noqa: BLE001  (reported below as not restored)
            pass
    stuck = [(h, n, v) for h, n, v in changed if _current(h).get(n, _GONE) is not v]
    return [_label(h, n) for h, n, _ in changed], [_label(h, n) for h, n, _ in stuck]


def left_behind(threads: int, exit_handlers: int) -> list[str]:
    """What a task left running after it returned: it fails the task, and the process is replaced."""
    problems = []
    extra = _thread._count() - threads
    if extra > 0:
        problems.append("a thread" if extra == 1 else f"{extra} threads")
    if kill_children():  # not counted: how many a fork tree has reached when it is killed varies
        problems.append("child processes")
    if atexit._ncallbacks() > exit_handlers:
        problems.append("an exit handler")
        atexit._clear()
    return problems


def pop_modes() -> list[Any]:
    """Take every torch function mode off the stack (the guard's and any the submission pushed)."""
    modes = _get_current_function_mode_stack()
    while torch._C._len_torch_function_stack():
        torch._C._pop_torch_function_stack()
    return modes


def clean_up(reply: Reply, what: str, before: Watched, threads: int, exit_handlers: int) -> None:
    """After a request: find what was left running and put patched libraries back; record in
    ``reply`` whether the process must be replaced, and why."""
    global _baseline
    problems = left_behind(threads, exit_handlers)
    changed, stuck = restore(before)
    if changed:
        _baseline = None  # the next request takes a fresh snapshot
    if problems:
        left = (f"{what} left {' and '.join(problems)} running after it returned "
                f"(nothing may outlive {'the task' if what == 'the task' else 'an import'})")
        prior = reply.message if reply.status in ("error", "banned") else ""
        reply.status, reply.outputs, reply.message = "error", {}, f"{prior}; {left}" if prior else left
    reasons = ([f"it left {' and '.join(problems)} running"] if problems else []) + \
              ([f"{', '.join(stuck[:3])} could not be put back"] if stuck else [])
    reply.left = problems
    reply.restart = bool(reasons)
    reply.restart_reason = "; ".join(reasons)
    reply.patched = changed[:10]


def kill_children() -> int:
    """Kill every process this one has, orphans included (it is their subreaper); returns how many."""
    me, killed = os.getpid(), set()
    if not os.path.isdir("/proc"):
        return 0  # no /proc (macOS): the grader's kill of the session is all there is
    for _ in range(50):
        found = []
        for entry in os.listdir("/proc"):
            if not entry.isdigit():
                continue
            try:
                with open(f"/proc/{entry}/stat") as f:
                    stat = f.read()
            except OSError:
                continue
            if int(stat[stat.rindex(")") + 2:].split()[1]) == me:
                found.append(int(entry))
        if not found:
            break
        for pid in found:
            killed.add(pid)
            try:
                os.kill(pid, signal.SIGKILL)
                os.waitpid(pid, 0)
            except OSError:
                pass
    return len(killed)


def own_gradient(task: Task, m: Modules, inputs: dict, max_elements: int) -> dict[str, torch.Tensor]:
    """Central differences of the student's own forward, ``sum(forward * dout)``, in float64.

    Used only to word the diagnosis ("your backward does not match your own forward").
    """
    assert task.forward is not None
    dout = inputs.get(task.upstream) if task.upstream else None
    grads = {}
    for gname, path in task.wrt.items():
        x = get_path(inputs, path)
        if not isinstance(x, torch.Tensor) or not x.is_floating_point() or x.numel() > max_elements:
            continue

        def objective(pert: torch.Tensor, path: str = path) -> float:
            kw = clone(inputs)
            set_path(kw, path, pert)
            return weighted_sum(task.forward(m, **kw), dout)

        grads[gname] = central_difference(objective, x, 1e-6 if x.dtype == torch.float64 else 1e-3)
    return grads


def signature_of(m: Modules, task: Task) -> list[str] | None:
    try:
        fn = getattr(getattr(m, task.module), task.function)
        return [p.name for p in inspect.signature(fn).parameters.values()]
    except Exception:
        return None


@dataclass(frozen=True)
class Ran:
    """What one run of a task's driver gave: ``ok`` with its outputs, or ``not_implemented`` or ``error``
    with a message."""

    status: str
    outputs: dict[str, Any] = field(default_factory=dict)
    message: str = ""


def run_driver(task: Task, m: Modules, kw: dict,
               keep: tuple[type[BaseException], ...] = ()) -> tuple[Ran, BaseException | None]:
    """Run one task's driver on ``kw``: what it gave, and the exception the submission raised, if any.
    ``keep``: exceptions not caught (a runner's own time limit). Shared by this child and the audit's
    in-process runner."""
    try:
        outputs = task.run(m, **kw)
        if not isinstance(outputs, dict):
            raise TypeError("the task driver returned no outputs")
    except NotImplementedError as e:
        return Ran("not_implemented", message=str(e) or "NotImplementedError"), e
    except keep:
        raise
    except BaseException as e:  # SystemExit and KeyboardInterrupt from student code included
        return _error(e), e
    return Ran("ok", outputs), None


def _error(e: BaseException) -> Ran:
    message = f"{type(e).__name__}: {e}"
    if isinstance(e, OSError) and e.errno == errno.EPERM and isolation.processes_forbidden:
        message += " (a task may start threads but no process: fork, subprocess and multiprocessing are refused)"
    return Ran("error", message=message[:1000])


def handle(request: TaskRequest, suite: Any, m: Modules, device: str, submission_root: str, main_pid: int) -> Reply:
    task: Task = suite.tasks[request.task]
    inputs = to_device(request.inputs, device)
    captured = io.StringIO()
    reply = Reply.answering(request)
    guard = banned.Guard(list(request.banned), submission_root, imported_only=True) if request.banned else None
    foreign = [name for name in banned.bans.foreign_modules(guard.banned) if name not in sys.modules] \
        if guard is not None else []  # banned numpy/scipy objects whose module is not imported yet
    if guard is not None:
        banned.wrap_foreign(guard.expansion)  # before the task: the submission's aliases of them included
    autograd = guard is not None and guard.autograd
    torch.set_grad_enabled(False)  # global torch state an earlier task may have changed
    torch.set_default_dtype(torch.float32)
    before, threads, exit_handlers = baseline(), _thread._count(), atexit._ncallbacks()
    escaped: list[str] = []
    with contextlib.redirect_stdout(captured), contextlib.redirect_stderr(captured), \
            torch.inference_mode() if autograd else contextlib.nullcontext():
        if autograd:
            banned.push_saved_tensors()  # fires if any operation records a node for autograd
        if guard is not None:
            guard.__enter__()
        ran, error = run_driver(task, m, clone(inputs))
        if error is None and request.own_gradient and task.forward is not None:
            try:
                reply.own_gradient = own_gradient(task, m, inputs, request.own_gradient)
            except Exception:
                pass  # diagnosis only: a forward that fails here is graded by its own task
            except BaseException as e:  # sys.exit in the student's forward
                ran, error = _error(e), e
        if autograd:
            escaped = autograd_escapes(ran)
    banned.ACTIVE = None
    reply.status, reply.outputs, reply.message = ran.status, ran.outputs, ran.message
    if error is not None and ran.status == "error":
        tb = traceback.format_exception(type(error), error, error.__traceback__)
        reply.traceback = "".join(_student_frames(tb))[-OUTPUT_CAP:]
        if isinstance(error, TypeError):
            reply.signature = signature_of(m, task)
    if os.getpid() != main_pid:
        os._exit(0)  # a copy forked by the submission: only the driver itself answers
    modes = pop_modes()
    if autograd and not pop_saved_tensors_hooks():
        escaped.append("it took the saved-tensors check off")
    refused = ""
    if guard is not None and guard.violation is not None:
        refused = guard.violation.describe()
        v = guard.violation  # and as data, for the grader to word in the reader's language
        reply.violation = {"name": v.name, "file": v.file, "line": v.line, "escape": v.escape}
    elif guard is not None and not any(mode is guard for mode in modes):
        refused = "the task switched off the banned-operation check"
    elif escaped:
        refused = f"autograd is banned in this task, and {'; '.join(escaped)}"
    elif any(name in sys.modules for name in foreign):
        imported = next(name for name in foreign if name in sys.modules)
        refused = (f"the task imported {imported} while it ran, and a banned operation of this task lives there "
                   f"({', '.join(e for e in guard.banned if e.startswith(imported + '.'))}): import it at the top of "
                   "the file, where its use can be checked")
    if refused:
        reply.status, reply.outputs, reply.message = "banned", {}, refused
    clean_up(reply, "the task", before, threads, exit_handlers)
    if torch.is_inference_mode_enabled() or torch.is_grad_enabled():
        reply.restart = True  # a switch the task left on outlives it: a fresh process for the next
        reply.restart_reason = "; ".join(filter(None, [reply.restart_reason, "it left autograd's switches changed"]))
    reply.stdout = captured.getvalue()[-OUTPUT_CAP:]
    return reply


def autograd_escapes(ran: Ran) -> list[str]:
    """Where autograd is banned, what the task left switched on, read before the inference mode ends."""
    out = []
    if not torch.is_inference_mode_enabled():
        out.append("it left torch.inference_mode")
    if torch.is_grad_enabled():
        out.append("it switched grad mode on")
    if not banned.saved_tensors_hook_on():
        out.append("it replaced the saved-tensors check")
    if any(isinstance(t, torch.Tensor) and t.requires_grad for t in _tensors(ran.outputs)):
        out.append("an output requires grad")
    return out


def _tensors(tree: Any, depth: int = 0) -> list[Any]:
    if depth > 20:
        return []
    if isinstance(tree, dict):
        return [t for v in tree.values() for t in _tensors(v, depth + 1)]
    if isinstance(tree, (list, tuple)):
        return [t for v in tree for t in _tensors(v, depth + 1)]
    return [tree]


def pop_saved_tensors_hooks() -> bool:
    """Take every saved-tensors hook off (the check's and any the task pushed); whether the check's
    was among them."""
    found = False
    for _ in range(1000):
        top = torch._C._autograd._top_saved_tensors_default_hooks(False)
        if not top:
            break
        found = found or banned.saved_tensors_hook_on()
        banned.pop_saved_tensors()
    return found


def handle_import(request: ImportRequest, package: str, main_pid: int) -> Reply:
    """Import one of the submission's modules, once, under its own time budget: a module that hangs,
    crashes or leaves something running at import is then known before any task uses it."""
    module = request.module
    reply = Reply.answering(request)
    captured = io.StringIO()
    before, threads, exit_handlers = baseline(), _thread._count(), atexit._ncallbacks()
    with contextlib.redirect_stdout(captured), contextlib.redirect_stderr(captured):
        try:
            importlib.import_module(f"{package}.{module}")
        except BaseException as e:  # a syntax error, a missing package, sys.exit at import, ...
            failed = _error(e)
            reply.status, reply.message = failed.status, failed.message
            tb = traceback.format_exception(type(e), e, e.__traceback__)
            reply.traceback = "".join(_student_frames(tb))[-OUTPUT_CAP:]
    if os.getpid() != main_pid:
        os._exit(0)
    pop_modes()
    clean_up(reply, f"importing {module}.py", before, threads, exit_handlers)
    reply.stdout = captured.getvalue()[-OUTPUT_CAP:]
    return reply


def _student_frames(tb: list[str]) -> list[str]:
    """Drop the grader's frames and the import machinery's so the traceback starts in the student's code."""
    stdlib = f'File "{os.path.dirname(os.__file__)}/importlib/'
    suite = tuple(f'File "{folder}/' for folder in suites.__path__)
    keep = [line for line in tb if "/_grader/grader/" not in line and "<frozen importlib" not in line and
            stdlib not in line and not line.lstrip().startswith(suite)]
    return keep or tb


def main(config: dict, bundle: str) -> None:
    req_fd, resp_fd = config["req_fd"], config["resp_fd"]
    requests = os.fdopen(req_fd, "rb", buffering=0)
    responses = os.fdopen(resp_fd, "wb", buffering=0)
    configure(config["device"], config.get("threads", 1), config.get("memory_mb", 4096))
    banned.install_tripwires()  # before any submission code: a later lookup of torch's switches gets the tripwire
    submission_root = bundle + "/submission"
    main_pid = os.getpid()
    sys.path.insert(0, submission_root)
    suites.__path__ = [bundle + "/suite"]  # the session's suite, beside the code every session shares
    suite = importlib.import_module(f"grader.tasks.suites.{config['assignment']}").SUITE
    m = Modules(config["assignment"])
    wire.write_message(responses, Ready().to_wire())
    while True:
        try:
            request = request_from(wire.read_message(requests))
        except EOFError:
            break
        if isinstance(request, ImportRequest):
            reply = handle_import(request, config["assignment"], main_pid)
        else:
            reply = handle(request, suite, m, config["device"], submission_root, main_pid)
        try:
            data = wire.encode(reply.to_wire())
        except Exception as e:  # an output that cannot be encoded is the submission's error
            unsent = Reply.answering(request)
            unsent.status, unsent.message = "error", f"could not send the outputs: {type(e).__name__}: {e}"[:500]
            data = wire.encode(unsent.to_wire())
        responses.write(data)
    responses.close()
    os._exit(0)  # exit handlers a submission registered never run
