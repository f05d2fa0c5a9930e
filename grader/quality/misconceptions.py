"""Declared misconceptions: per task, a classic mistake that no one-token edit of the solution makes.

Each is an edit of the reference solution (``old``, which occurs exactly once in the file, becomes
``new``), the kind of mistake it is, and its wording for the student: the mistake in words, never the
solution's code. The near-miss search (:mod:`grader.judge.near_miss`) runs them first, as mutants; where one
behaves like a submission on its failing cases, its wording is the diagnosis.

This module holds lines of the reference solutions, so it stays with the instructor's grader: the student
repository ships neither it nor the rest of :mod:`grader.quality`.
"""
from __future__ import annotations

from dataclasses import dataclass

from grader import paths
from grader.i18n import N_
from grader.results import DiagnosisKind as K
from grader.quality.mutate import Mutant


@dataclass(frozen=True)
class Misconception:
    task: str    # the task whose solution block the edit is in: a09.lstm_step_forward
    file: str    # relative to the assignment folder: lstm.py
    old: str     # reference text, exactly once in the file, inside the task's solution block
    new: str     # what the mistaken solution has instead
    kind: K      # the kind of mistake (never a location kind)
    words: str   # the diagnosis the student reads

    @property
    def aid(self) -> str:
        return next(d.name for d in paths.REFERENCE.iterdir() if d.name.split("_", 1)[0] == self.task.split(".")[0])


DECLARED: tuple[Misconception, ...] = (
    Misconception("a05.dropout_backward", "layers.py", "dx = dout if mask is None else dout * mask", "dx = dout",
                  K.MASK, N_("it behaves like a dropout whose mask is not applied in the backward")),
    Misconception("a09.lstm_step_forward", "lstm.py", "ai, af, ag, ao = a.chunk(4, dim=1)",
                  "ai, af, ao, ag = a.chunk(4, dim=1)", K.ORDER,
                  N_("it behaves like an LSTM that takes its gates in another order than i, f, g, o")),
    Misconception("a10.masked_softmax_forward", "softmax.py", 'x = x.masked_fill(~mask, float("-inf"))',
                  "x = x", K.MASK, N_("it behaves like a softmax that ignores the mask")),
    Misconception("a10.scaled_dot_attention_forward", "self_attention.py",
                  "scores = q @ k.transpose(-2, -1) * scale", "scores = q @ k.transpose(-2, -1)", K.SCALE,
                  N_("it behaves like attention whose scores are not scaled by 1/sqrt(d_k)")),
    Misconception("a11.attention_forward", "attention.py", "scores = (q @ k.transpose(-2, -1)) * scale",
                  "scores = q @ k.transpose(-2, -1)", K.SCALE,
                  N_("it behaves like attention whose scores are not scaled by 1/sqrt(d_k)")),
    Misconception("a11.attention_forward", "attention.py", 'scores = scores.masked_fill(~mask, float("-inf"))',
                  "scores = scores", K.MASK, N_("it behaves like attention that ignores a boolean mask")),
    Misconception("a12.decoder_forward", "losses.py", "h = mask(v, y)", "h = v.reshape(v.shape[0], -1)", K.MASK,
                  N_("it behaves like a decoder fed every digit capsule: the mask to the true class left out")),
)


def mutants_in(prefix: str, file: str, module: str) -> list[Mutant]:
    """The misconceptions declared for one file of an assignment (``prefix``: ``a09``), as mutants. One whose
    edit no longer applies (the reference changed) is left out: a diagnosis is never worth a grading
    (tests/diagnosis/test_misconceptions.py fails on it instead)."""
    out = []
    for m in DECLARED:
        if m.file == file and m.task.split(".")[0] == prefix:
            try:
                out.append(as_mutant(m, module))
            except ValueError:
                continue
    return out


def as_mutant(m: Misconception, module: str) -> Mutant:
    """The misconception as a mutant of the reference file (operator ``declared``, its wording as description)."""
    source = (paths.REFERENCE / m.aid / m.file).read_text(encoding="utf-8")
    if source.count(m.old) != 1:
        raise ValueError(f"the misconception of {m.task} edits {m.old!r}, which occurs {source.count(m.old)} "
                         f"times in {m.file}, not once")
    start = source.index(m.old)
    line = source.count("\n", 0, start) + 1
    mutated = source.replace(m.old, m.new)
    return Mutant(m.task, m.file, module, "declared", line, m.words, mutated,
                  f"@@ {m.file}:{line} @@\n-{m.old}\n+{m.new}\n", m.kind)
