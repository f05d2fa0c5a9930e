"""What a graded task is: how its inputs are made, how it is run, which outputs are gradients.

A suite module (``grader/tasks/suites/<assignment>.py``) declares its tasks with :class:`Suite`.
The same ``run`` driver is executed twice: in the grader against the reference package, and
in the sandboxed child against the submission. The child receives inputs only; the
expected values never leave the grader process.

This module is copied into the sandbox, so it imports nothing but the standard library, torch and
:mod:`grader.tasks.trees` (the import rules of ``tasks/`` hold it to that).
"""
from __future__ import annotations

import importlib
import zlib
from dataclasses import dataclass, field, replace
from typing import Any, Callable

import torch

from grader.tasks.trees import leaf_tensors, same

Inputs = dict[str, Any]
Outputs = dict[str, torch.Tensor]


class Modules:
    """Lazy access to an assignment's modules: ``m.layers`` imports ``<package>.layers`` on first use.

    Lazy import keeps a syntax error in one file from costing the tasks of the others.
    """

    def __init__(self, package: str):
        self._package = package

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        return importlib.import_module(f"{self._package}.{name}")


@dataclass(frozen=True)
class Task:
    """One graded function.

    id:       ``a02.affine_backward``: assignment prefix and function name.
    module:   the assignment's file that defines the function (``layers`` for layers.py).
    inputs:   ``(gen, case) -> kwargs``; runs only in the grader, from seeds it controls.
    run:      ``(m, **kwargs) -> {output name: tensor}``; ``m`` is a :class:`Modules`.
    grads:    output names that are gradients (so a failure reads as a backward error).
    forward:  ``(m, **kwargs) -> tensor``, the function whose gradient ``grads`` are; used to
              tell whether a wrong backward at least matches the student's own forward.
    wrt:      gradient output name -> input path it differentiates (``"dx": "x"``,
              ``"dW1": "params.0.0"``).
    upstream: the input that holds the upstream gradient ``dout`` (None: the forward is a scalar).
    calls:    other tasks whose functions this one runs (a backward runs its forward); when one of
              them fails too, the diagnosis says so.
    """

    id: str
    module: str
    inputs: Callable[[torch.Generator, int], Inputs]
    run: Callable[..., Outputs]
    grads: tuple[str, ...] = ()
    forward: Callable[..., torch.Tensor] | None = None
    wrt: dict[str, str] = field(default_factory=dict)
    upstream: str | None = None
    calls: tuple[str, ...] = ()

    @property
    def function(self) -> str:
        return self.id.split(".", 1)[1]


class Suite:
    """The tasks of one assignment, in the order they are graded and reported.

    Each task is declared by one helper: :meth:`call` (a function called with its inputs),
    :meth:`backward` (a CS231n ``backward(dout, cache)``), :meth:`loss` (``(loss, dx)``) or
    :meth:`composite` (a run of its own). ``calls`` name other tasks of the suite by function
    (``"im2col"``). Every task also checks that its function leaves its inputs as they were
    (:func:`keeps_inputs`), unless declared with ``inputs_unchanged=False``.

    exact_outputs: a function returns exactly its outputs, no trailing cache; its tensors are made
    contiguous, as they arrive from the sandbox (lstsq's solution is column-major).
    """

    def __init__(self, assignment: str, exact_outputs: bool = False):
        self.assignment = assignment
        self.prefix = assignment.split("_", 1)[0]
        self.exact_outputs = exact_outputs
        self.tasks: dict[str, Task] = {}

    def _add(self, task: Task, inputs_unchanged: bool = True) -> Task:
        if not task.id.startswith(self.prefix + "."):
            raise ValueError(f"task {task.id} does not belong to {self.assignment}")
        if task.id in self.tasks:
            raise ValueError(f"task {task.id} declared twice")
        self.tasks[task.id] = keeps_inputs(task) if inputs_unchanged else task
        return self.tasks[task.id]

    def call(self, name: str, module: str, inputs: Callable[[torch.Generator, int], Inputs],
             outputs: tuple[str, ...] = ("out",), calls: tuple[str, ...] = (),
             inputs_unchanged: bool = True) -> Task:
        """A task whose function is called with the inputs and returns ``outputs`` (a tuple
        whose trailing extras, such as a cache, are ignored unless ``exact_outputs``)."""
        named = _exact_outputs if self.exact_outputs else name_outputs

        def run(m: Modules, **kw: Any) -> Outputs:
            return named(name, getattr(getattr(m, module), name)(**kw), outputs)

        return self._add(Task(self._id(name), module, inputs, run, calls=self._ids(calls)), inputs_unchanged)

    def backward(self, name: str, forward: str, module: str,
                 inputs: Callable[[torch.Generator, int], Inputs],
                 grads: tuple[str, ...] = ("dx",), wrt: tuple[str, ...] = ("x",), calls: tuple[str, ...] = (),
                 inputs_unchanged: bool = True) -> Task:
        """A CS231n-style ``backward(dout, cache)`` task: the student's own forward makes the
        cache, then the backward's results ``grads`` (of the inputs ``wrt``) are checked. ``inputs``
        must include ``dout``. ``calls``: tasks it runs besides its forward (a fast conv backward
        runs col2im)."""

        def fwd(m: Modules, **kw: Any) -> torch.Tensor:
            kw.pop("dout")
            out, _ = getattr(getattr(m, module), forward)(**kw)
            return out

        def run(m: Modules, **kw: Any) -> Outputs:
            dout = kw.pop("dout")
            _, cache = getattr(getattr(m, module), forward)(**kw)
            result = getattr(getattr(m, module), name)(dout, cache)
            return name_outputs(name, result, grads)

        return self._add(Task(self._id(name), module, inputs, run, grads=grads, forward=fwd,
                             wrt=dict(zip(grads, wrt)), upstream="dout", calls=self._ids((forward,) + calls)),
                        inputs_unchanged)

    def loss(self, name: str, module: str, inputs: Callable[[torch.Generator, int], Inputs], wrt: str,
             inputs_unchanged: bool = True) -> Task:
        """A loss that returns ``(loss, d<wrt>)``: the scalar and its gradient with respect to input ``wrt``."""
        grad = f"d{wrt}"

        def run(m: Modules, **kw: Any) -> Outputs:
            loss, dx = getattr(getattr(m, module), name)(**kw)
            return {"loss": loss, grad: dx}

        def forward(m: Modules, **kw: Any) -> torch.Tensor:
            return getattr(getattr(m, module), name)(**kw)[0]

        return self._add(Task(self._id(name), module, inputs, run, grads=(grad,), forward=forward,
                             wrt={grad: wrt}), inputs_unchanged)

    def composite(self, name: str, module: str, inputs: Callable[[torch.Generator, int], Inputs],
                  run: Callable[..., Outputs], wrt: dict[str, str] | None = None,
                  grads: tuple[str, ...] | None = None, forward: Callable[..., torch.Tensor] | None = None,
                  upstream: str | None = None, calls: tuple[str, ...] = (),
                  inputs_unchanged: bool = True) -> Task:
        """A task with a run of its own, ``run(m, **inputs) -> outputs`` (a network, a loop over
        batches). ``grads`` default to the outputs named in ``wrt``; the fields are :class:`Task`'s."""
        wrt = wrt or {}
        grads = tuple(wrt) if grads is None else grads
        return self._add(Task(self._id(name), module, inputs, run, grads=grads, forward=forward, wrt=wrt,
                             upstream=upstream, calls=self._ids(calls)), inputs_unchanged)

    def _id(self, name: str) -> str:
        return f"{self.prefix}.{name}"

    def _ids(self, names: tuple[str, ...]) -> tuple[str, ...]:
        return tuple(self._id(n) for n in names)


def layer_pairs(function: str, pairs: Any, layers: int, names: tuple[str, str] = ("dW", "db")) -> Outputs:
    """``[(W1, b1), ...]`` returned by ``function`` as outputs ``{names[0]}1, {names[1]}1, ...``,
    after checking there is one pair per layer."""
    if not isinstance(pairs, (list, tuple)) or len(pairs) != layers:
        got = f" of length {len(pairs)}" if isinstance(pairs, (list, tuple)) else ""
        raise OutputShapeError(f"{function} must return one ({names[0]}, {names[1]}) pair per layer ({layers}), "
                               f"got {type(pairs).__name__}{got}")
    outputs = {}
    for i, pair in enumerate(pairs, start=1):
        if not isinstance(pair, (list, tuple)) or len(pair) != 2:
            raise OutputShapeError(f"{function}: layer {i} must give a ({names[0]}, {names[1]}) pair")
        outputs[f"{names[0]}{i}"], outputs[f"{names[1]}{i}"] = pair
    return outputs


def name_outputs(name: str, result: Any, names: tuple[str, ...]) -> Outputs:
    """``name``'s returned tuple as ``{names[i]: result[i]}``; values past ``names`` (a cache) are ignored."""
    if len(names) == 1 and not isinstance(result, (tuple, list)):
        return {names[0]: result}
    if not isinstance(result, (tuple, list)) or len(result) < len(names):
        got = f"a {type(result).__name__} of length {len(result)}" if isinstance(result, (tuple, list)) \
            else f"a {type(result).__name__}"
        raise OutputShapeError(f"{name} must return {len(names)} values ({', '.join(names)}), got {got}")
    return dict(zip(names, result))


def _exact_outputs(name: str, result: Any, names: tuple[str, ...]) -> Outputs:
    if len(names) == 1:
        result = (result,)
    if not isinstance(result, (tuple, list)) or len(result) != len(names):
        got = f"{len(result)} values" if isinstance(result, (tuple, list)) else f"a {type(result).__name__}"
        raise TypeError(f"{name} must return {len(names)} values ({', '.join(names)}), got {got}")
    return {k: v.contiguous() if type(v) is torch.Tensor else v for k, v in zip(names, result)}


class OutputShapeError(TypeError):
    """The function returned the wrong number or kind of values."""


def keeps_inputs(task: Task) -> Task:
    """The same task with one more check, the property ``inputs_unchanged``: one flag per input
    tensor (in :func:`leaf_tensors` order), all true when the function left its inputs as they
    were. An update in place (``dout.mul_(mask)``) corrupts the caller's data even when the
    result is right."""

    def run(m: Modules, **kw: Any) -> Outputs:
        leaves = leaf_tensors(kw)
        before = [t.clone() for _, t in leaves]
        out = task.run(m, **kw)
        if isinstance(out, dict):
            out["inputs_unchanged"] = torch.tensor([same(t, b) for (_, t), b in zip(leaves, before)],
                                                   dtype=torch.bool)
        return out

    return replace(task, run=run)


def case_generator(seed: int, task_id: str, case: int) -> torch.Generator:
    """The generator for one case: a pure function of the suite seed, the task and the case."""
    g = torch.Generator()
    g.manual_seed((seed * 1_000_003 + zlib.crc32(task_id.encode()) * 97 + case) % (2**63 - 1))
    return g
