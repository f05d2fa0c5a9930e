"""The warm fork server (a zygote): torch and the child's code imported once, a fresh sandboxed child forked per session.

Started by :mod:`grader.sandbox.warm` exactly as a cold child is (``python -I -S``, a clean
environment, a fresh directory holding only copies of ``grader/sandbox/inside/`` and
``grader/tasks/`` without any suite), it imports torch, numpy and the child's modules, and
then does nothing but wait for orders on one socket. What it holds is what every cold child
holds before it reads its first request: the standard library, torch, numpy and the
grader's child-side code. No suite, no submission, no request, no expected value and no
reference code is ever in its memory, so a child forked from it inherits nothing a cold
child would not have.

An order is a child's configuration plus three descriptors (its request pipe, its response
pipe, its log). The server forks; the new process drops the server's socket, takes the log as
stdout and stderr, starts its own session, takes the order's resource limits and
environment, points the child-side packages at the session's copy of the same code (its bundle's own,
or the one its grading process shares between sessions; the suite and the submission are in the
bundle), and then goes exactly the cold child's way:
:func:`grader.sandbox.inside.isolation.enter` (namespaces, uid, private root) before any
suite or student code is imported, then :func:`grader.sandbox.inside.child.main`. The server
answers with the child's pid and a pidfd (the grader is not its parent: the pidfd tells it
when the child is gone, without any risk of a reused pid). Each child serves one session of
one submission, never two. An order may instead ask for the isolation probe: the child then
enters the layers the same way, checks each from inside, prints for each whether it holds and
why not, and exits.

A "scan" order asks for the scan child (:meth:`grader.sandbox.warm.ForkServer.scan`): forked the
same way, it leaves the server's session and descriptors but enters no isolation, since it runs
only the grader's own code: it adds the grader's installation to where ``grader`` is found,
imports the entry module the order names (the static banned-operation scan, which needs the torch
this server has imported) and hands it its two pipes. It reads the submission's files itself; the
server never sees more of the scan than its order, which names no submission, so what the scan
read is never in the memory later children inherit.
"""
from __future__ import annotations

import importlib
import json
import os
import select
import shutil
import signal
import socket
import sys
import traceback
from typing import Callable

MAX_ORDER_BYTES = 1 << 20


def serve(sock_fd: int, bundle: str) -> None:
    """The server's loop: one fork per order until the grader closes the socket (or dies)."""
    import grader.sandbox.inside.child  # noqa: F401  (torch, numpy and the child's code, once)
    import grader.sandbox.inside.isolation  # noqa: F401  (every module a child needs before its remap)
    import grader.sandbox.inside.verify  # noqa: F401  (the probe's checks, run by a probe child after its remap)
    import grader.tasks.suites  # noqa: F401  (the package only: its suites come with each session)

    sock = socket.socket(fileno=sock_fd)
    shutil.rmtree(os.path.dirname(bundle), ignore_errors=True)  # all imported: nothing is left behind, even
    # when the grader is killed and this server with it (its children get each session's own copy)
    threads = len(os.listdir("/proc/self/task"))  # a fork copies one thread: others' locks would stay held
    sock.send(json.dumps({"ready": threads == 1, "threads": threads}).encode())
    while True:
        _reap()
        ready, _, _ = select.select([sock], [], [], 1.0)
        if not ready:
            continue
        try:
            data, fds, _, _ = socket.recv_fds(sock, MAX_ORDER_BYTES, 3)
        except OSError:
            break
        if not data:
            break  # the grader closed its end: nothing more to do
        if len(fds) != 3:
            for fd in fds:
                os.close(fd)
            sock.send(b'{"error": "an order needs three descriptors"}')
            continue
        order = json.loads(data)
        session_r, session_w = os.pipe()
        pid = os.fork()
        if pid == 0:
            os.close(session_r)
            _forked(lambda: _scan_child(sock, order["scan"], fds, session_w) if "scan" in order else
                    _become_child(sock, order, fds, bundle, session_w))  # never returns
        os.close(session_w)
        for fd in fds:
            os.close(fd)
        os.read(session_r, 1)  # EOF once the child leads its own session: the grader may then kill the group
        os.close(session_r)
        pidfd = os.pidfd_open(pid)
        try:
            socket.send_fds(sock, [json.dumps({"pid": pid}).encode()], [pidfd])
        finally:
            os.close(pidfd)
    os._exit(0)


def _reap() -> None:
    """Collect the children that have exited (the grader watches them through their pidfds)."""
    while True:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return


def _leave_server(sock: socket.socket, fds: list[int], session_w: int) -> tuple[int, int]:
    """In a forked process: leave the server's socket and session, take the order's log as stdout and
    stderr and close every other descriptor; the order's request and response pipes."""
    sock.close()
    os.setsid()
    os.close(session_w)
    req_fd, resp_fd, log_fd = fds
    os.dup2(log_fd, 1)
    os.dup2(log_fd, 2)
    os.close(log_fd)
    null = os.open(os.devnull, os.O_RDONLY)
    os.dup2(null, 0)
    os.close(null)
    signal.signal(signal.SIGCHLD, signal.SIG_DFL)
    keep = {0, 1, 2, req_fd, resp_fd}
    for fd in _open_fds():
        if fd not in keep:
            try:
                os.close(fd)
            except OSError:
                pass
    return req_fd, resp_fd


def _forked(become: Callable[[], None]) -> None:
    """In the forked process: run ``become``, then exit; where it raises, its traceback goes to the log (the
    grader reads it: the child did not start, or a scan child failed and the grader scans itself)."""
    try:
        become()
    except BaseException:  # noqa: BLE001
        try:
            sys.stderr.write(traceback.format_exc())
            sys.stderr.flush()
        finally:
            os._exit(1)
    os._exit(0)


def _scan_child(sock: socket.socket, order: dict, fds: list[int], session_w: int) -> None:
    """The scan child (the module docstring): ``order["entry"]``'s ``serve`` given the order's two pipes."""
    req_fd, resp_fd = _leave_server(sock, fds, session_w)
    os.chdir("/")
    for package, folder in (("grader", order["grader"]), ("grader.sandbox", order["grader"] + "/sandbox")):
        sys.modules[package].__path__.append(folder)  # the rest of the grader, beside the child's code
    sys.path.extend(p for p in order["paths"] if p not in sys.path)
    sys.path_importer_cache.clear()
    importlib.import_module(order["entry"]).serve(req_fd, resp_fd)


def _become_child(sock: socket.socket, order: dict, fds: list[int], bundle: str, session_w: int) -> None:
    """Become the cold child this order describes, then run it."""
    req_fd, resp_fd = _leave_server(sock, fds, session_w)
    os.environ.clear()
    os.environ.update(order["env"])
    from grader.sandbox.inside import isolation

    isolation.apply_limits(**order["limits"])
    config = order["config"]
    config["req_fd"], config["resp_fd"] = req_fd, resp_fd
    config["isolation"]["keep_fds"] = [req_fd, resp_fd]
    plan = config["isolation"]
    isolation.remap_modules(bundle + "/_grader", plan["code"])  # the same code, in the session's copy or shared
    os.chdir(plan["bundle"] + "/work")
    inside = isolation.enter(plan)
    isolation.remap_into(plan, inside)
    if "probe" in order:  # the isolation probe, run the way every warm child starts
        from grader.sandbox.inside import verify

        os.write(1, json.dumps(verify.verify(config["isolation"], order["probe"])).encode())
        os._exit(0)
    from grader.sandbox.inside import child

    child.main(config, inside)


def _open_fds() -> list[int]:
    try:
        return [int(name) for name in os.listdir("/proc/self/fd")]
    except OSError:
        return list(range(3, 256))


def main(config: dict) -> None:
    """Entry point: ``config`` holds the socket's descriptor and where this server's bundle is."""
    serve(config["sock_fd"], config["bundle"])
