"""a13: graph neural networks: the renormalised adjacency, GCN (dense and sparse), GAT, GraphSAGE and readout."""
