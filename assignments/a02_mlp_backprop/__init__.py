"""a02: multilayer perceptrons and backpropagation.

The section of the course notes it follows: Backpropagation networks: how they compute, forward and backward.
课程讲义中对应的章节：反向传播神经网络计算过程。
"""
