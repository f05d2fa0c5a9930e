"""Grading a whole class: a batch of submissions on parallel workers (local or Dask), into a resumable SQLite gradebook.

``jobs`` finds the submissions, hashes them and reads their times; ``worker`` grades one in a
warm sandbox; ``executors`` runs workers (a local pool, a Dask cluster); ``gradebook`` is the
SQLite file only the coordinator writes; ``run`` is the batch itself; ``version`` says what
a grading depends on, so a rerun grades only what changed.
"""
from grader.batch.run import Summary, batch

__all__ = ["batch", "Summary"]
