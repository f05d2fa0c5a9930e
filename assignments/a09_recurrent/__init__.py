"""a09: recurrent networks (RNN and BPTT, LSTM, GRU) and recursive (tree-structured) networks.

The section of the course notes it follows: Recurrent neural networks and backpropagation through time; long
short-term memory; recursive networks.
课程讲义中对应的章节：循环神经网络与随时间反向传播；长短时记忆网络；递归神经网络。
"""
