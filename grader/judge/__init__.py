"""Judging: the grading pipeline, comparison, scoring and diagnoses. Everything that decides a grade."""
