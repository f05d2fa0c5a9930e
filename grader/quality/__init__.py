"""Grading quality: mutation testing of the suites, and the in-process runner it uses."""
