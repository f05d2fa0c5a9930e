"""a04: convolution, pooling, fully connected layers and LeNet-5, with hand-written backward passes.

The section of the course notes it follows: Convolutional neural networks: convolution, pooling, LeNet-5.
课程讲义中对应的章节：卷积神经网络：卷积、池化与 LeNet-5。
"""
