"""a11: the transformer (scaled dot-product and multi-head attention, layer norm, encoder and decoder layers) and attention in vision."""
