"""a13: graph neural networks: the renormalised adjacency, GCN (dense and sparse), GAT, GraphSAGE and readout.

The section of the course notes it follows: Graph neural networks: GCN, GAT, GraphSAGE.
课程讲义中对应的章节：图神经网络：GCN、GAT、GraphSAGE。
"""
