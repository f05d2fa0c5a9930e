"""Judging: the grading pipeline, the static banned-operation scan, comparison, scoring and diagnoses. Everything
that decides a grade."""
