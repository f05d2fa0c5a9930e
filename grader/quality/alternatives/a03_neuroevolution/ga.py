"""Other correct ways to write a03's GA: loops, masks as arithmetic, concatenation, topk."""
import torch


def tournament_select(fitness, contestants):
    winners = []
    for row in contestants.tolist():
        best = row[0]
        for i in row[1:]:
            if fitness[i] > fitness[best]:
                best = i
        winners.append(best)
    return torch.tensor(winners, dtype=torch.int64, device=fitness.device)


def uniform_crossover(a, b, mask):
    keep = mask.to(a.dtype)
    return a * keep + b * (1 - keep), b * keep + a * (1 - keep)


def one_point_crossover(a, b, points):
    c1 = torch.stack([torch.cat([a[i, :p], b[i, p:]]) for i, p in enumerate(points.tolist())])
    c2 = torch.stack([torch.cat([b[i, :p], a[i, p:]]) for i, p in enumerate(points.tolist())])
    return c1, c2


def gaussian_mutation(genomes, noise, u, rate, sigma):
    return torch.where(u < rate, genomes + sigma * noise, genomes)


def next_generation(population, fitness, noise, elite, rate, sigma, crossover="uniform"):
    n = population.shape[0] - elite
    m = (n + 1) // 2
    elites = population[torch.topk(fitness, elite).indices] if elite else population[:0]
    winners = tournament_select(fitness, noise["contestants"])
    a, b = population[winners[:m]], population[winners[m:]]
    cross = uniform_crossover if crossover == "uniform" else one_point_crossover
    c1, c2 = cross(a, b, noise["mask"] if crossover == "uniform" else noise["points"])
    children = gaussian_mutation(torch.cat([c1, c2])[:n], noise["normal"], noise["uniform"], rate, sigma)
    return torch.cat([elites, children])


def evolve(fitness_fn, population, generations, generator, elite=2, k=3, rate=0.2, sigma=0.3,
           crossover="uniform"):
    fitness = fitness_fn(population)
    best = [fitness.max()]
    for _ in range(generations):
        noise = draw_noise(generator, population.shape[0], population.shape[1], elite, k, population)
        population = next_generation(population, fitness, noise, elite, rate, sigma, crossover)
        fitness = fitness_fn(population)
        best.append(fitness.max())
    return population, torch.stack(best)
