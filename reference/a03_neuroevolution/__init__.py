"""a03: neuroevolution, a network's weights found by a genetic algorithm.

The section of the course notes it follows: Neuroevolution: a network's weights found by a genetic algorithm.
课程讲义中对应的章节：神经进化：用遗传算法优化网络权值。
"""
