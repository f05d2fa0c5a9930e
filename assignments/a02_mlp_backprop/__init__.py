"""a02: multilayer perceptrons and backpropagation."""
