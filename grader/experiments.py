"""What every assignment's ``experiments.py`` shares: a row of the reproduced table, a thread count, and
scikit-learn's digits split for training.

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


def digits_split(*, test_size: float, seed: int, scale: str = "unit", images: bool = False,
                 dtype: torch.dtype = torch.float64) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """scikit-learn's 8x8 digits, split stratified by class: ``(x_train, y_train, x_test, y_test)``.

    ``test_size``: the test set's fraction; ``seed``: the split's random state. ``scale``: ``"unit"``,
    pixels over 16, in [0, 1]; ``"standard"``, each pixel standardised with the training set's mean
    and deviation (plus 1e-8). ``images``: ``(N, 1, 8, 8)`` rather than ``(N, 64)``. Labels are int64."""
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    data = load_digits()
    x_tr, x_te, y_tr, y_te = train_test_split(data.data, data.target, test_size=test_size, stratify=data.target,
                                              random_state=seed)
    x_tr, x_te = torch.tensor(x_tr, dtype=dtype), torch.tensor(x_te, dtype=dtype)
    if scale == "unit":
        x_tr, x_te = x_tr / 16.0, x_te / 16.0
    elif scale == "standard":
        mean, std = x_tr.mean(0), x_tr.std(0) + 1e-8
        x_tr, x_te = (x_tr - mean) / std, (x_te - mean) / std
    else:
        raise ValueError(f"scale is 'unit' or 'standard', not {scale!r}")
    if images:
        x_tr, x_te = x_tr.reshape(-1, 1, 8, 8), x_te.reshape(-1, 1, 8, 8)
    return x_tr, torch.tensor(y_tr), x_te, torch.tensor(y_te)
