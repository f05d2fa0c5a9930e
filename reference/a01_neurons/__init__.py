"""a01: artificial neurons, the perceptron, the delta (LMS) and Hebbian learning rules."""
