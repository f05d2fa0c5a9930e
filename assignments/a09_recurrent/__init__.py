"""a09: recurrent networks (RNN and BPTT, LSTM, GRU) and recursive (tree-structured) networks."""
