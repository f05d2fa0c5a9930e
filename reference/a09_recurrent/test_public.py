"""Public tests of a09: `pytest assignments/a09_recurrent` grades your functions on the public suite."""
from grader.student import public_tests

test_task = public_tests(__file__)
