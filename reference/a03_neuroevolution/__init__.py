"""a03: neuroevolution, a network's weights found by a genetic algorithm."""
