"""a10: the attention family: additive and Luong attention, soft and hard attention, self- and multi-head
attention, and the combinations (hierarchical, attention over attention, multi-step, multi-dimensional, memory).

The section of the course notes it follows: Attention mechanisms.
课程讲义中对应的章节：注意力机制。
"""
