"""Return the input unchanged (dout) instead of the gradient."""


def sigmoid_backward(dout, cache):
    return dout
