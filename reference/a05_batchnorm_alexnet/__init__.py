"""a05: batch normalization, and AlexNet (local response normalization, dropout, overlapping pooling)."""
