"""The timing loop the speed benchmarks share: each contender timed in turns, the median kept."""
from __future__ import annotations

import statistics
import time
from collections.abc import Callable, Mapping


def median_times(contenders: Mapping[str, Callable[..., object]], args: tuple,
                 repeats: int | Mapping[str, int]) -> dict[str, float]:
    """Median seconds of each contender called on ``args``, after one call each to warm up (allocator,
    thread pool, kernels). They are timed in turns (round r times every contender that still has
    repeats left), so a change in the machine's load hits all of them alike. ``repeats``: for all, or
    per contender (a slow one timed fewer times)."""
    wanted = {name: repeats if isinstance(repeats, int) else repeats[name] for name in contenders}
    for fn in contenders.values():
        fn(*args)
    times: dict[str, list[float]] = {name: [] for name in contenders}
    for r in range(max(wanted.values(), default=0)):
        for name, fn in contenders.items():
            if r < wanted[name]:
                start = time.perf_counter()
                fn(*args)
                times[name].append(time.perf_counter() - start)
    return {name: statistics.median(t) for name, t in times.items()}


def median_of(times: list[float], digits: int = 3) -> str:
    """``median (run, run, ...)`` in seconds, as the tables print a row's runs."""
    return f"{statistics.median(times):.{digits}f} ({', '.join(f'{t:.{digits}f}' for t in times)})"
