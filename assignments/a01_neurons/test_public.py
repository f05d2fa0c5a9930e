"""Public tests of a01: `pytest assignments/a01_neurons` grades your functions on the public suite."""
from grader.student import public_tests

test_task = public_tests(__file__)
