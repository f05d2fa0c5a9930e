"""What a long command shows while it works: a progress bar on stderr in a terminal, nothing in a log or a pipe.

Lines that stay (a file the command wrote) go to stderr either way, above the bar if there is one.
"""
from __future__ import annotations

import contextlib
import sys
import time
from typing import Callable, Iterator, Protocol


class Finished(Protocol):
    """One submission a batch is done with: who, and whether it was graded (else it failed to grade)."""

    @property
    def student(self) -> str: ...

    @property
    def graded(self) -> bool: ...


@contextlib.contextmanager
def progress(quiet: bool, total: int | None = None) -> Iterator[tuple[Callable[[str], None] | None,
                                                                        Callable[[str], None]]]:
    """``(step, say)`` for a long command. ``step`` reports what it is doing: in a terminal a rich
    progress bar on stderr (``total`` steps, or an open-ended bar), gone when the command ends;
    None (nothing shown) when stderr is not a terminal (a log, a pipe) or with ``quiet``. ``say``
    prints a line that stays (a file the command wrote), above the bar if there is one."""
    def plain(message: str) -> None:
        print(message, file=sys.stderr, flush=True)

    if quiet or not sys.stderr.isatty():
        yield None, plain
        return
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    columns = [SpinnerColumn(), TextColumn("{task.description}"), BarColumn()]
    columns += [MofNCompleteColumn()] if total else []
    with Progress(*columns, TimeElapsedColumn(), console=Console(stderr=True), transient=True) as bar:
        task = bar.add_task("starting", total=total)
        started = False

        def step(message: str) -> None:
            nonlocal started
            bar.update(task, description=message, advance=1 if started else 0)
            started = True

        def say(message: str) -> None:
            bar.console.print(message, highlight=False, markup=False)
        yield step, say


@contextlib.contextmanager
def batch_progress(quiet: bool, total: int, in_flight: Callable[[], list[tuple[str, float]]] | None = None
                   ) -> Iterator[Callable[[Finished], None] | None]:
    """``advance(outcome)`` for a batch: in a terminal a rich bar on stderr with the submissions done,
    their rate per minute (from the batch's start, once a submission is done and a second has passed),
    the time left, and what is being graded now and for how long (``in_flight``: the executor's); gone
    when the batch ends; None (nothing shown) when stderr is not a terminal or with ``quiet``."""
    if quiet or not sys.stderr.isatty() or not total:
        yield None
        return
    from rich.console import Console
    from rich.progress import (BarColumn, MofNCompleteColumn, Progress, ProgressColumn, SpinnerColumn, Task,
                               TextColumn, TimeElapsedColumn, TimeRemainingColumn)
    from rich.text import Text

    class PerMinute(ProgressColumn):
        """Submissions a minute since the batch began: never from one interval between two outcomes."""

        def render(self, task: Task) -> Text:
            elapsed = task.elapsed or 0.0
            return Text(f"{60 * task.completed / elapsed:.1f}/min" if task.completed and elapsed >= 1 else "-/min")

    class InFlight(ProgressColumn):
        """What is being graded now, the longest first, and for how long."""

        def render(self, task: Task) -> Text:
            now = time.monotonic()
            busy = sorted(in_flight() if in_flight else [], key=lambda s: s[1])
            listed = ", ".join(f"{student} {now - started:.0f} s" for student, started in busy[:3])
            return Text(f"grading {listed}" + (f" +{len(busy) - 3}" if len(busy) > 3 else "") if busy else "")

    with Progress(SpinnerColumn(), TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), PerMinute(),
                  TimeElapsedColumn(), TextColumn("ETA"), TimeRemainingColumn(), InFlight(),
                  console=Console(stderr=True), transient=True) as bar:
        task = bar.add_task("grading", total=total)

        def advance(outcome: Finished) -> None:
            bar.update(task, advance=1, description=f"last: {outcome.student} {'graded' if outcome.graded else 'failed'}")
        yield advance
