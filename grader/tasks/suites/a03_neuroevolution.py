"""What a03 (neuroevolution) checks: inputs for each task, and how each task is run.

All random numbers are inputs made here from the suite's seeds (the GA operators receive them;
evolve receives the seed of its own torch.Generator). Fitness values are distinct, so every
tournament and every elite has one right answer; case 0 has the smallest sizes. Every task also
checks that its function leaves its inputs unchanged.
"""
from __future__ import annotations

import torch

from grader.tasks.inputs import distinct_dims, layer_params, randint, randn, scalar, uniform
from grader.tasks.model import Suite, layer_pairs

SUITE = Suite("a03_neuroevolution")
F64 = torch.float64


def layer_sizes(g: torch.Generator, case: int) -> list[int]:
    return distinct_dims(g, 2 + (case % 3), 1, 5)  # 1 to 3 layers


def length(sizes: list[int]) -> int:
    return sum(a * b + b for a, b in zip(sizes[:-1], sizes[1:]))


def encode_inputs(g: torch.Generator, case: int) -> dict:
    sizes = layer_sizes(g, case)
    return {"params": layer_params(g, sizes)}


def encode_run(m, params) -> dict:
    return {"genome": m.genome.encode([tuple(p) for p in params])}


SUITE.composite("encode", "genome", encode_inputs, encode_run)


def decode_inputs(g: torch.Generator, case: int) -> dict:
    sizes = layer_sizes(g, case)
    lead = () if case % 2 == 0 else (randint(g, 2, 4),)  # one genome, or a population
    return {"genome": randn(g, *lead, length(sizes)), "sizes": sizes}


def decode_run(m, genome, sizes) -> dict:
    return layer_pairs("decode", m.genome.decode(genome, sizes), len(sizes) - 1, ("W", "b"))


SUITE.composite("decode", "genome", decode_inputs, decode_run)


def distinct_fitness(g: torch.Generator, p: int) -> torch.Tensor:
    return torch.randperm(p, generator=g).to(F64) + uniform(g, p, low=0.0, high=0.5)  # no ties


def tournament_inputs(g: torch.Generator, case: int) -> dict:
    p, n, k = randint(g, 3, 10), randint(g, 1, 8), randint(g, 1, 4)
    return {"fitness": distinct_fitness(g, p) - 5.0, "contestants": torch.randint(0, p, (n, k), generator=g)}


SUITE.call("tournament_select", "ga", tournament_inputs, ("winners",))


def parents(g: torch.Generator, case: int) -> tuple[int, int, torch.Tensor, torch.Tensor]:
    n, l = (1 if case == 0 else randint(g, 2, 5)), randint(g, 3, 9)
    return n, l, randn(g, n, l), randn(g, n, l)


def uniform_inputs(g: torch.Generator, case: int) -> dict:
    n, l, a, b = parents(g, case)
    return {"a": a, "b": b, "mask": torch.rand(n, l, generator=g) < 0.5}


def one_point_inputs(g: torch.Generator, case: int) -> dict:
    n, l, a, b = parents(g, case)
    points = torch.randint(1, l, (n,), generator=g)
    if case == 1:
        points[0], points[-1] = 1, l - 1  # both extreme cut points
    return {"a": a, "b": b, "points": points}


SUITE.call("uniform_crossover", "ga", uniform_inputs, ("child1", "child2"))
SUITE.call("one_point_crossover", "ga", one_point_inputs, ("child1", "child2"))


def mutation_inputs(g: torch.Generator, case: int) -> dict:
    n, l, genomes, noise = parents(g, case)
    return {"genomes": genomes, "noise": noise, "u": torch.rand(n, l, generator=g, dtype=F64),
            "rate": scalar(g, 0.2, 0.8), "sigma": scalar(g, 0.1, 2.0)}


SUITE.call("gaussian_mutation", "ga", mutation_inputs, ("mutants",))


def generation_settings(g: torch.Generator, case: int) -> dict:
    p, l = randint(g, 4, 9), randint(g, 3, 7)
    return {"p": p, "l": l, "elite": [1, 2, 0, 3, 2, 1][case % 6], "k": randint(g, 2, 3),
            "rate": scalar(g, 0.2, 0.6), "sigma": scalar(g, 0.1, 1.0),
            "crossover": "uniform" if case % 2 == 0 else "one_point"}


def generation_inputs(g: torch.Generator, case: int) -> dict:
    s = generation_settings(g, case)
    p, l, elite, k = s["p"], s["l"], s["elite"], s["k"]
    n = p - elite
    m = (n + 1) // 2
    noise = {"contestants": torch.randint(0, p, (2 * m, k), generator=g),
             "mask": torch.rand(m, l, generator=g) < 0.5,
             "points": torch.randint(1, l, (m,), generator=g),
             "normal": randn(g, n, l), "uniform": torch.rand(n, l, generator=g, dtype=F64)}
    return {"population": randn(g, p, l), "fitness": distinct_fitness(g, p), "noise": noise, "elite": elite,
            "rate": s["rate"], "sigma": s["sigma"], "crossover": s["crossover"]}


OPERATORS = ("tournament_select", "uniform_crossover", "one_point_crossover", "gaussian_mutation")


def generation_run(m, **kw) -> dict:
    return {"population": m.ga.next_generation(**kw)}


SUITE.composite("next_generation", "ga", generation_inputs, generation_run, calls=OPERATORS)


def evolve_inputs(g: torch.Generator, case: int) -> dict:
    s = generation_settings(g, case)
    return {"population": randn(g, s["p"], s["l"]), "target": randn(g, s["l"]),
            "generations": randint(g, 1, 6), "seed": randint(g, 0, 2**31 - 1), "elite": s["elite"],
            "k": s["k"], "rate": s["rate"], "sigma": s["sigma"], "crossover": s["crossover"]}


def evolve_run(m, population, target, generations, seed, **settings) -> dict:
    """The fitness is minus the squared distance to ``target``; the generator is seeded here."""
    def fitness(pop: torch.Tensor) -> torch.Tensor:
        return -((pop - target) ** 2).sum(-1)

    generator = torch.Generator().manual_seed(seed)
    final, best = m.ga.evolve(fitness, population, generations, generator, **settings)
    return {"population": final, "best": best}


SUITE.composite("evolve", "ga", evolve_inputs, evolve_run, calls=OPERATORS + ("next_generation",))
