"""Grading a03 end to end: full marks for the solutions, zero for the skeleton, seeded bugs.

next_generation calls the four operators and evolve calls next_generation: a bug in an operator
costs the operator and those two composites, a bug in a composite costs only itself and evolve.
"""
from __future__ import annotations


import pytest

from tests.helpers import grade_folder, lost_tasks, seeded_bugs

AID = "a03_neuroevolution"
MAX = 17
COMPOSITES = {"a03.next_generation", "a03.evolve"}


# name: ([(file, old, new), ...], tasks that must be lost)
BUGS = {
    "encode transposes W; decode's bias off by one; evolve skips the last evaluation": (
        [("genome.py", "for t in (w, b)]", "for t in (w.T, b)]"),
         ("genome.py", "bias = genome[..., i:i + b]", "bias = genome[..., i + 1:i + b + 1]"),
         ("ga.py", "    best.append(fitness_fn(population).max())\n", "")],
        {"a03.encode", "a03.decode", "a03.evolve"}),
    "tournament picks the least fit": (
        [("ga.py", "best = scores.argmax(dim=1)", "best = scores.argmin(dim=1)")],
        {"a03.tournament_select"} | COMPOSITES),
    "uniform crossover's second child copies the first": (
        [("ga.py", "child2 = torch.where(mask, b, a)", "child2 = torch.where(mask, a, b)")],
        {"a03.uniform_crossover"} | COMPOSITES),
    "one-point crossover cuts one gene late": (
        [("ga.py", "from_a = genes[None, :] < points[:, None]", "from_a = genes[None, :] <= points[:, None]")],
        {"a03.one_point_crossover"} | COMPOSITES),
    "mutation forgets sigma": (
        [("ga.py", "mutants = genomes + sigma * noise", "mutants = genomes + noise")],
        {"a03.gaussian_mutation"} | COMPOSITES),
    "elite taken from the least fit": (
        [("ga.py", "torch.argsort(fitness, descending=True, stable=True)",
          "torch.argsort(fitness, descending=False, stable=True)")],
        COMPOSITES),
}


@pytest.mark.parametrize("bug", list(BUGS))
def test_seeded_bug_loses_only_the_affected_tasks(bug, solutions, tmp_path):
    edits, affected = BUGS[bug]
    result = grade_folder(seeded_bugs(solutions(AID), tmp_path, edits), sandboxed=False)
    assert lost_tasks(result) == affected
    tasks = {t.id: t for t in result.assignments[0].tasks}
    operator = next((a for a in affected if a not in COMPOSITES), None)
    if operator is not None and "a03.next_generation" in affected:
        note = " ".join(c.said for c in tasks["a03.next_generation"].checks if not c.passed)
        assert f"it calls {operator}" in note
