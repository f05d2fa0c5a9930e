"""Public tests of a13: `pytest assignments/a13_graphs` grades your functions on the public suite."""
from grader.student import public_tests

test_task = public_tests(__file__)
