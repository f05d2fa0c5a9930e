"""The data behind a heatmap: a failed value check keeps |got - expected| / allowed, at most 64 x 64 cells."""
from __future__ import annotations

import torch

from grader.judge.compare import ERROR_MAP_SIDE, Tolerance, compare, error_map

TOL = Tolerance(rtol=1e-7, atol=1e-9)


def mapped(got: torch.Tensor, expected: torch.Tensor, tol: Tolerance = TOL):
    c = compare("x", got, expected, tol)
    assert not c.passed
    return error_map(c.ratio)


def test_a_failed_comparison_maps_its_error_against_what_was_allowed():
    expected = torch.zeros(3, 4, dtype=torch.float64)
    got = expected.clone()
    got[1, 2] = 1e-6  # 1000 times the allowed 1e-9
    m = mapped(got, expected)
    assert m.shape == [3, 4] and m.values[1][2] == 1000.0
    assert sum(v for row in m.values for v in row) == 1000.0


def test_a_large_tensor_is_folded_and_pooled_keeping_each_blocks_worst():
    expected = torch.ones(10, 30, 200, dtype=torch.float64)
    got = expected.clone()
    got[9, 29, 199] = 2.0
    m = mapped(got, expected)
    assert (len(m.values), len(m.values[0])) == (ERROR_MAP_SIDE, ERROR_MAP_SIDE) and m.shape == [10, 30, 200]
    assert m.values[-1][-1] > 1 and max(max(r) for r in m.values[:-1]) == 0.0


def test_a_vector_is_one_row_and_a_number_one_cell():
    m = mapped(torch.tensor([1.0, 2.0], dtype=torch.float64), torch.tensor([1.0, 3.0], dtype=torch.float64))
    assert len(m.values) == 1 and len(m.values[0]) == 2 and m.shape == [2]
    m = mapped(torch.tensor(2.0, dtype=torch.float64), torch.tensor(0.0, dtype=torch.float64), Tolerance(0.0, 0.0))
    assert m.values == [[1e12]] and m.shape == []  # nothing allowed: large, and still a number JSON can hold


def test_no_map_where_values_were_not_compared_or_all_hold():
    x = torch.ones(2, 3, dtype=torch.float64)
    assert compare("x", x, x, TOL).ratio is None
    assert compare("x", x.T, x, TOL).ratio is None  # a shape mismatch says so in words
    assert compare("x", x.float(), x, TOL).ratio is None


def test_only_failed_checks_of_a_grading_carry_a_map(gradings):
    for result in gradings.values():
        for t in result.tasks():
            for c in t.checks:
                assert c.error_map is None or not c.passed
    with_maps = {t.id for t in gradings["buggy"].tasks() for c in t.checks if c.error_map is not None}
    assert {"a02.tanh_backward", "a02.softmax_cross_entropy", "a02.sgd_step"} <= with_maps


def test_the_blocks_are_torchs_adaptive_max_pool_blocks():
    """The map is pooled in numpy, without torch: each block is where torch's adaptive max pool puts it."""
    from grader.judge.compare import _block_max

    g = torch.Generator().manual_seed(7)
    for rows, cols in [(65, 64), (64, 65), (100, 3), (3, 1000), (129, 200), (200, 129), (1, 4096), (997, 61)]:
        grid = torch.rand(rows, cols, generator=g, dtype=torch.float64)
        side = (min(rows, ERROR_MAP_SIDE), min(cols, ERROR_MAP_SIDE))
        pooled = torch.nn.functional.adaptive_max_pool2d(grid[None, None], side)[0, 0]
        assert torch.equal(torch.from_numpy(_block_max(grid.numpy(), *side)), pooled), (rows, cols)
