"""What every assignment's ``experiments.py`` shares: a row of the reproduced table, and a thread count.

An ``experiments.py`` runs in the reference and, copied into a student's folder, on the student's
own functions (``grader reproduce --submission``), so what they share lives here, in the package
both have installed, rather than in each copy.
"""
from __future__ import annotations

import contextlib
from typing import Any, Iterator

import torch


def row(quantity: str, published: Any, ours: Any, ok: bool) -> dict:
    """One line of the table ``grader reproduce`` prints: the quantity, its published value, ours, and
    whether they agree."""
    return {"quantity": quantity, "published": published, "ours": ours, "ok": bool(ok)}


@contextlib.contextmanager
def threads(n: int) -> Iterator[None]:
    """torch on ``n`` threads inside the block (small matrices run faster on one thread than on many
    that contend), as it was after."""
    before = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(before)
