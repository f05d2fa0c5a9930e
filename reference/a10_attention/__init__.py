"""a10: the attention family: additive and Luong attention, soft and hard attention, self- and multi-head
attention, and the combinations (hierarchical, attention over attention, multi-step, multi-dimensional, memory)."""
