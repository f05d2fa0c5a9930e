"""a07: autoencoders, sparse autoencoders and deep belief networks."""
