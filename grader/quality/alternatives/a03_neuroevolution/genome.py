"""Other correct ways to write a03's genome: torch's parameter vectors, torch.split."""
import torch


def encode(params):
    return torch.nn.utils.parameters_to_vector([t for pair in params for t in pair])


def decode(genome, sizes):
    if genome.shape[-1] != genome_length(sizes):
        raise ValueError("wrong number of genes")
    counts = [n for a, b in zip(sizes[:-1], sizes[1:]) for n in (a * b, b)]
    parts = torch.split(genome, counts, dim=-1)
    lead = genome.shape[:-1]
    return [(parts[2 * i].reshape(*lead, a, b), parts[2 * i + 1])
            for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:]))]
