"""a04: convolution, pooling, fully connected layers and LeNet-5, with hand-written backward passes."""
