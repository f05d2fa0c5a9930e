"""a03 reference against ground truth: torch's parameter vectors and layers, GA invariants, determinism."""
from __future__ import annotations

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from reference.a03_neuroevolution import experiments, ga, genome
from tests.strategies import seeds, tensor

F64 = torch.float64
SETTINGS = settings(max_examples=15, deadline=None)
layer_sizes = st.lists(st.integers(1, 5), min_size=2, max_size=4)


def random_params(seed: int, sizes: list[int]) -> list[tuple[torch.Tensor, torch.Tensor]]:
    return [(tensor(seed + i, a, b), tensor(seed + 100 + i, b)) for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:]))]


@SETTINGS
@given(seed=seeds, sizes=layer_sizes)
def test_encode_is_torch_parameters_to_vector_and_decode_inverts_it(seed, sizes):
    params = random_params(seed, sizes)
    g = genome.encode(params)
    flat = torch.nn.utils.parameters_to_vector([t for pair in params for t in pair])
    assert g.shape == (genome.genome_length(sizes),) and torch.equal(g, flat)
    back = genome.decode(g, sizes)
    assert len(back) == len(params)
    for (w, b), (w2, b2) in zip(params, back):
        assert torch.equal(w, w2) and torch.equal(b, b2)


@SETTINGS
@given(seed=seeds, sizes=layer_sizes, p=st.integers(1, 4))
def test_decode_of_a_population_decodes_each_row(seed, sizes, p):
    population = tensor(seed, p, genome.genome_length(sizes))
    batched = genome.decode(population, sizes)
    for i in range(p):
        for (w, b), (wi, bi) in zip(batched, genome.decode(population[i], sizes)):
            assert torch.equal(w[i], wi) and torch.equal(b[i], bi)


def test_decode_rejects_a_genome_of_the_wrong_length():
    with pytest.raises(ValueError, match="genes"):
        genome.decode(torch.zeros(8, dtype=F64), [2, 2, 1])


def test_decoded_network_is_torchs_linear_layers():
    sizes = [2, 3, 1]
    params = random_params(3, sizes)
    net = torch.nn.Sequential(torch.nn.Linear(2, 3), torch.nn.Tanh(), torch.nn.Linear(3, 1), torch.nn.Sigmoid())
    net = net.to(F64)
    with torch.no_grad():
        for layer, (w, b) in zip((net[0], net[2]), params):
            layer.weight.copy_(w.T)  # nn.Linear stores (out, in)
            layer.bias.copy_(b)
        x = tensor(4, 5, 2)
        torch.testing.assert_close(genome.forward(genome.decode(genome.encode(params), sizes), x), net(x),
                                   rtol=1e-12, atol=1e-12)


@SETTINGS
@given(seed=seeds, p=st.integers(2, 9), n=st.integers(1, 8), k=st.integers(1, 4))
def test_tournament_winner_is_the_fittest_contestant(seed, p, n, k):
    g = torch.Generator().manual_seed(seed)
    fitness = torch.randn(p, generator=g, dtype=F64)
    contestants = torch.randint(0, p, (n, k), generator=g)
    winners = ga.tournament_select(fitness, contestants)
    assert winners.shape == (n,) and winners.dtype == torch.int64
    for i in range(n):
        assert int(winners[i]) in contestants[i].tolist()
        assert fitness[winners[i]] == fitness[contestants[i]].max()
    assert torch.equal(ga.tournament_select(fitness, contestants[:, :1]), contestants[:, 0])


def test_tournament_over_everyone_picks_the_best():
    fitness = torch.tensor([0.1, 3.0, -2.0, 2.9], dtype=F64)
    assert ga.tournament_select(fitness, torch.tensor([[0, 1, 2, 3], [3, 2, 0, 0]])).tolist() == [1, 3]


@SETTINGS
@given(seed=seeds, n=st.integers(1, 5), length=st.integers(2, 9))
def test_crossovers_recombine_genes_position_by_position(seed, n, length):
    a, b = tensor(seed, n, length), tensor(seed + 1, n, length)
    g = torch.Generator().manual_seed(seed)
    mask = torch.rand(n, length, generator=g) < 0.5
    c1, c2 = ga.uniform_crossover(a, b, mask)
    assert torch.equal(c1[mask], a[mask]) and torch.equal(c1[~mask], b[~mask])
    assert torch.equal(c2[mask], b[mask]) and torch.equal(c2[~mask], a[~mask])
    points = torch.randint(1, length, (n,), generator=g)
    o1, o2 = ga.one_point_crossover(a, b, points)
    for i, p in enumerate(points.tolist()):
        assert torch.equal(o1[i], torch.cat([a[i, :p], b[i, p:]]))
        assert torch.equal(o2[i], torch.cat([b[i, :p], a[i, p:]]))


def test_one_point_crossover_extremes():
    a, b = torch.zeros(2, 4, dtype=F64), torch.ones(2, 4, dtype=F64)
    c1, c2 = ga.one_point_crossover(a, b, torch.tensor([1, 3]))
    assert c1.tolist() == [[0, 1, 1, 1], [0, 0, 0, 1]] and c2.tolist() == [[1, 0, 0, 0], [1, 1, 1, 0]]


@SETTINGS
@given(seed=seeds, rate=st.sampled_from([0.0, 0.3, 1.0]), sigma=st.sampled_from([0.1, 2.0]))
def test_gaussian_mutation_touches_only_the_chosen_genes(seed, rate, sigma):
    genomes, noise = tensor(seed, 4, 6), tensor(seed + 1, 4, 6)
    u = torch.rand(4, 6, generator=torch.Generator().manual_seed(seed), dtype=F64)
    mutants = ga.gaussian_mutation(genomes, noise, u, rate, sigma)
    chosen = u < rate
    assert torch.equal(mutants[~chosen], genomes[~chosen])
    torch.testing.assert_close(mutants[chosen], genomes[chosen] + sigma * noise[chosen], rtol=0, atol=1e-15)


def test_next_generation_keeps_the_elite_and_breeds_from_tournament_winners():
    population = torch.arange(12, dtype=F64).reshape(6, 2)  # genome i is (2i, 2i + 1)
    fitness = torch.tensor([0.0, 5.0, 1.0, 4.0, 2.0, 3.0], dtype=F64)
    noise = ga.draw_noise(torch.Generator().manual_seed(0), 6, 2, 2, 2, population)
    noise["mask"][:] = True  # child1 = parent a, child2 = parent b
    new = ga.next_generation(population, fitness, noise, elite=2, rate=0.0, sigma=1.0)
    assert new.shape == (6, 2)
    assert torch.equal(new[:2], population[[1, 3]])  # the two fittest, fittest first
    winners = ga.tournament_select(fitness, noise["contestants"])
    assert torch.equal(new[2:], population[winners])  # m = 2 pairs: a's then b's


@settings(max_examples=10, deadline=None)
@given(seed=seeds, elite=st.integers(1, 3), crossover=st.sampled_from(["uniform", "one_point"]))
def test_with_elitism_the_best_never_decreases_and_a_seed_fixes_the_run(seed, elite, crossover):
    target = tensor(seed, 5)

    def fitness(pop):
        return -((pop - target) ** 2).sum(-1)

    def run(s):
        return ga.evolve(fitness, tensor(seed + 1, 8, 5), 15, torch.Generator().manual_seed(s), elite=elite,
                         crossover=crossover)

    population, best = run(seed)
    assert best.shape == (16,) and population.shape == (8, 5)
    assert torch.all(best[1:] >= best[:-1])
    assert best[0] == fitness(tensor(seed + 1, 8, 5)).max() and best[-1] == fitness(population).max()
    again, again_best = run(seed)
    assert torch.equal(again, population) and torch.equal(again_best, best)
    other, _ = run(seed + 1)
    assert not torch.equal(other, population)


def test_without_elitism_the_best_can_fall():
    no_elite = experiments.xor_run(1, generations=100, elite=0)[1]
    assert bool((no_elite.diff() < 0).any())


def test_ga_evolves_xor_weights():
    population, best = experiments.xor_run(1)
    assert float(-best[-1]) < 0.01
    winner = population[experiments.xor_fitness(population).argmax()]
    out = genome.forward(genome.decode(winner, experiments.SIZES), experiments.XOR_X)
    assert (out.view(-1) > 0.5).tolist() == [False, True, True, False]


def test_fitness_plot_is_written(tmp_path):
    experiments._plot(tmp_path, {"run": torch.tensor([-1.0, -0.1, -0.001], dtype=F64)})
    assert (tmp_path / "a03_fitness.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


@pytest.mark.slow
def test_every_a03_experiment_reproduces(tmp_path):
    rows = experiments.run(tmp_path)
    assert [r["quantity"] for r in rows if not r["ok"]] == []
    assert (tmp_path / "a03_fitness.png").exists()
