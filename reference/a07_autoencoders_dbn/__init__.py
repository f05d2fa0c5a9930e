"""a07: autoencoders, sparse autoencoders and deep belief networks.

The section of the course notes it follows: Autoencoders and sparse autoencoders; deep belief networks.
课程讲义中对应的章节：自编码器与稀疏自编码器；深度信念网络。
"""
