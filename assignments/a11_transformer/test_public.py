"""Public tests of a11: `pytest assignments/a11_transformer` grades your functions on the public suite."""
from grader.student import public_tests

test_task = public_tests(__file__)
