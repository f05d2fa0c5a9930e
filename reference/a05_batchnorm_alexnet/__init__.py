"""a05: batch normalization, and AlexNet (local response normalization, dropout, overlapping pooling).

The section of the course notes it follows: Batch normalization; AlexNet.
课程讲义中对应的章节：批归一化；AlexNet。
"""
