"""Authoring the course: releasing skeletons and solutions, nbgrader notebooks, reproducing experiments."""
