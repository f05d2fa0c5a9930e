"""Public tests of a08: `pytest assignments/a08_unsupervised` grades your functions on the public suite."""
from grader.student import public_tests

test_task = public_tests(__file__)
