"""a11: the transformer (scaled dot-product and multi-head attention, layer norm, encoder and decoder layers) and attention in vision.

The section of the course notes it follows: The Transformer; attention in computer vision.
课程讲义中对应的章节：Transformer；计算机视觉中的注意力机制。
"""
