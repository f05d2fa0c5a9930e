"""a08: competitive learning, inhibitory feedback networks, Kohonen's SOM and RBF networks."""
