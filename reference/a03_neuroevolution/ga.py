"""A genetic algorithm over genomes: tournament selection, crossover, Gaussian mutation, elitism.

Every random choice is an input: the operators take the random numbers they use, and
``draw_noise`` draws one generation's worth from a seeded ``torch.Generator`` in a fixed order,
so a run is a function of its seed. Higher fitness is better. Every graded function returns
new tensors and leaves its inputs unchanged.
Shapes: P genomes in the population, L genes, n children, k contestants per tournament.
"""
from __future__ import annotations

from typing import Callable

import torch

Tensor = torch.Tensor


def tournament_select(fitness: Tensor, contestants: Tensor) -> Tensor:
    """Tournament selection: each row of ``contestants`` is one tournament; its fittest wins.

    fitness: (P,); contestants: (n, k) int64 population indices (drawn with replacement).
    Returns the winners (n,) int64; among equal fitness the earlier contestant wins.
    """
    ### BEGIN SOLUTION
    scores = fitness[contestants]  # (n, k)
    best = scores.argmax(dim=1)  # (n,), argmax returns the first of equal maxima
    winners = contestants.gather(1, best[:, None])[:, 0]  # (n,)
    ### END SOLUTION
    return winners


def uniform_crossover(a: Tensor, b: Tensor, mask: Tensor) -> tuple[Tensor, Tensor]:
    """Uniform crossover: each gene comes from either parent, as ``mask`` says.

    a, b: (n, L) parents; mask: (n, L) bool, True takes the gene from a for the first child.
    Returns (child1, child2), each (n, L); the second child takes the other parent's genes.
    """
    ### BEGIN SOLUTION
    child1 = torch.where(mask, a, b)  # (n, L)
    child2 = torch.where(mask, b, a)
    ### END SOLUTION
    return child1, child2


def one_point_crossover(a: Tensor, b: Tensor, points: Tensor) -> tuple[Tensor, Tensor]:
    """One-point crossover: child1 = a[:p] followed by b[p:], child2 = b[:p] followed by a[p:].

    a, b: (n, L) parents; points: (n,) int64 cut points p in [1, L - 1], one per pair.
    Returns (child1, child2), each (n, L).
    """
    ### BEGIN SOLUTION
    genes = torch.arange(a.shape[1], device=a.device)  # (L,)
    from_a = genes[None, :] < points[:, None]  # (n, L): genes before the cut
    child1 = torch.where(from_a, a, b)
    child2 = torch.where(from_a, b, a)
    ### END SOLUTION
    return child1, child2


def gaussian_mutation(genomes: Tensor, noise: Tensor, u: Tensor, rate: float, sigma: float) -> Tensor:
    """Gaussian mutation: each gene with u < rate gets sigma * noise added; the others are kept.

    genomes, noise (standard normal), u (uniform in [0, 1)): (n, L). Returns the mutants (n, L).
    """
    ### BEGIN SOLUTION
    mutants = genomes + sigma * noise * (u < rate).to(genomes.dtype)  # (n, L)
    ### END SOLUTION
    return mutants


def draw_noise(generator: torch.Generator, size: int, length: int, elite: int, k: int,
               like: Tensor) -> dict[str, Tensor]:
    """One generation's random numbers, drawn on the CPU in this order and moved to ``like``'s device.

    With n = size - elite children made from m = ceil(n / 2) pairs of parents:
    contestants (2m, k) int64, mask (m, L) bool, points (m,) int64 in [1, L - 1],
    normal (n, L) and uniform (n, L) of ``like``'s dtype.
    """
    n = size - elite
    m = (n + 1) // 2
    noise = {
        "contestants": torch.randint(0, size, (2 * m, k), generator=generator),
        "mask": torch.rand(m, length, generator=generator) < 0.5,
        "points": torch.randint(1, max(length, 2), (m,), generator=generator),
        "normal": torch.randn(n, length, generator=generator, dtype=like.dtype),
        "uniform": torch.rand(n, length, generator=generator, dtype=like.dtype),
    }
    return {key: v.to(like.device) for key, v in noise.items()}


def next_generation(population: Tensor, fitness: Tensor, noise: dict[str, Tensor], elite: int,
                    rate: float, sigma: float, crossover: str = "uniform") -> Tensor:
    """One generation with elitism.

    population: (P, L); fitness: (P,); noise: as from draw_noise(..., elite, ...).
    1. The ``elite`` fittest genomes, fittest first (ties keep population order), are copied.
    2. n = P - elite children: winners = tournament_select(fitness, noise["contestants"]) (2m,);
       the first m winners are parents a, the last m parents b; crossover ("uniform" with
       noise["mask"], "one_point" with noise["points"]) gives child1 (m, L) and child2 (m, L);
       the children are child1 followed by child2, cut to the first n.
    3. The children are mutated: gaussian_mutation(children, noise["normal"], noise["uniform"], rate, sigma).
    Returns the new population (P, L): the elite first, then the children.
    """
    ### BEGIN SOLUTION
    size = population.shape[0]
    n = size - elite
    m = (n + 1) // 2
    ranked = torch.argsort(fitness, descending=True, stable=True)
    elites = population[ranked[:elite]]  # (elite, L)
    winners = tournament_select(fitness, noise["contestants"])  # (2m,)
    a, b = population[winners[:m]], population[winners[m:]]  # (m, L) each
    if crossover == "uniform":
        child1, child2 = uniform_crossover(a, b, noise["mask"])
    elif crossover == "one_point":
        child1, child2 = one_point_crossover(a, b, noise["points"])
    else:
        raise ValueError(f"unknown crossover '{crossover}' (uniform or one_point)")
    children = torch.cat([child1, child2])[:n]  # (n, L)
    children = gaussian_mutation(children, noise["normal"], noise["uniform"], rate, sigma)
    new_population = torch.cat([elites, children])  # (P, L)
    ### END SOLUTION
    return new_population


def evolve(fitness_fn: Callable[[Tensor], Tensor], population: Tensor, generations: int,
           generator: torch.Generator, elite: int = 2, k: int = 3, rate: float = 0.2,
           sigma: float = 0.3, crossover: str = "uniform") -> tuple[Tensor, Tensor]:
    """The evolve loop: evaluate, record the best fitness, breed the next generation; repeat.

    fitness_fn: (P, L) -> (P,); population: (P, L) the initial genomes. Each generation:
    fitness = fitness_fn(population); record fitness.max(); noise = draw_noise(generator, P, L,
    elite, k, population); population = next_generation(...). After the last generation the
    final population is evaluated and its best recorded too.
    Returns (population, best): the final population (P, L) and best (generations + 1,), the best
    fitness of every population evaluated, the initial one first.
    """
    ### BEGIN SOLUTION
    size, length = population.shape
    best = []
    for _ in range(generations):
        fitness = fitness_fn(population)  # (P,)
        best.append(fitness.max())
        noise = draw_noise(generator, size, length, elite, k, population)
        population = next_generation(population, fitness, noise, elite, rate, sigma, crossover)
    best.append(fitness_fn(population).max())
    best = torch.stack(best)  # (generations + 1,)
    ### END SOLUTION
    return population, best
