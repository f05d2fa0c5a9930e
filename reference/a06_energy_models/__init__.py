"""a06: energy-based models: Hopfield networks, restricted Boltzmann machines, the collaborative-filtering RBM."""
