"""Shared hypothesis strategies: shapes, seeds and float64 tensors built from them."""
from __future__ import annotations

import torch
from hypothesis import strategies as st

seeds = st.integers(min_value=0, max_value=2**31 - 1)
batch = st.integers(min_value=1, max_value=6)
dim = st.integers(min_value=1, max_value=7)


def tensor(seed: int, *shape: int, scale: float = 1.0) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return torch.randn(*shape, generator=g, dtype=torch.float64) * scale


def away_from_zero(seed: int, *shape: int, margin: float = 1e-3, scale: float = 1.0) -> torch.Tensor:
    x = tensor(seed, *shape, scale=scale)
    return torch.where(x >= 0, x + margin, x - margin)
