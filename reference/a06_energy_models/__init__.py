"""a06: energy-based models: Hopfield networks, restricted Boltzmann machines, the collaborative-filtering RBM.

The section of the course notes it follows: Hopfield networks; restricted Boltzmann machines.
课程讲义中对应的章节：Hopfield 网络；受限玻尔兹曼机。
"""
