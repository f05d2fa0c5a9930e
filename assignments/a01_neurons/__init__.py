"""a01: artificial neurons, the perceptron, the delta (LMS) and Hebbian learning rules.

The section of the course notes it follows: Artificial neurons and the perceptron; the delta (LMS) and Hebbian
learning rules.
课程讲义中对应的章节：人工神经元与感知机；delta（LMS）学习规则与 Hebb 学习规则。
"""
