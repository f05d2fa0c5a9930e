"""Reference solutions of the course: every network with hand-written forward and backward passes."""
