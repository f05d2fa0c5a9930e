"""a08: competitive learning, inhibitory feedback networks, Kohonen's SOM and RBF networks.

The section of the course notes it follows: Competitive learning; Kohonen's self-organising map; radial basis
function networks.
课程讲义中对应的章节：竞争学习；Kohonen 自组织映射；径向基函数网络。
"""
