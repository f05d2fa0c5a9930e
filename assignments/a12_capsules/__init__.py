"""a12: capsule networks: squash, PrimaryCaps, dynamic routing by agreement, margin and reconstruction losses, EM routing."""
