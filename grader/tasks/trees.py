"""Trees of inputs (dicts and lists of tensors, numbers, strings): the one walker the grader and the child share.

Runs inside the sandbox: it imports nothing but torch.
"""
from __future__ import annotations

from typing import Any, Callable

import torch


def tree_map(fn: Callable[[torch.Tensor], Any], tree: Any) -> Any:
    """``tree`` with every tensor replaced by ``fn(tensor)``; other leaves are kept as they are."""
    if isinstance(tree, torch.Tensor):
        return fn(tree)
    if isinstance(tree, dict):
        return {k: tree_map(fn, v) for k, v in tree.items()}
    if isinstance(tree, list):
        return [tree_map(fn, v) for v in tree]
    if isinstance(tree, tuple):
        return tuple(tree_map(fn, v) for v in tree)
    return tree


def clone(tree: Any) -> Any:
    """A deep copy of a tree of inputs: every function runs on its own copy of them."""
    return tree_map(torch.Tensor.clone, tree)


def to_device(tree: Any, device: str) -> Any:
    return tree_map(lambda t: t.to(device), tree)


def leaf_tensors(tree: Any, path: str = "") -> list[tuple[str, torch.Tensor]]:
    """Every tensor in a tree of inputs with its path (``params.0.1``), in a fixed order."""
    if isinstance(tree, torch.Tensor):
        return [(path, tree)]
    items = tree.items() if isinstance(tree, dict) else enumerate(tree) if isinstance(tree, (list, tuple)) else ()
    return [x for k, v in items for x in leaf_tensors(v, f"{path}.{k}" if path else str(k))]


def _step(tree: Any, part: str) -> Any:
    return tree[int(part)] if isinstance(tree, (list, tuple)) else tree[part]


def get_path(tree: Any, path: str) -> Any:
    """The value at ``path`` (``params.0.1``) of a tree of inputs."""
    for part in path.split("."):
        tree = _step(tree, part)
    return tree


def set_path(tree: Any, path: str, value: Any) -> None:
    """Put ``value`` at ``path`` of a tree of dicts and lists, in place."""
    *parents, last = path.split(".")
    for part in parents:
        tree = _step(tree, part)
    tree[int(last) if isinstance(tree, list) else last] = value


def same(a: torch.Tensor, b: torch.Tensor) -> bool:
    """Equal shape, dtype and values (NaN equal to NaN)."""
    if a.shape != b.shape or a.dtype != b.dtype:
        return False
    if torch.equal(a, b):
        return True
    return a.is_floating_point() and bool(((a == b) | (a.isnan() & b.isnan())).all())
