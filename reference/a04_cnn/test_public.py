"""Public tests of a04: `pytest assignments/a04_cnn` grades your functions on the public suite."""
from grader.student import public_tests

test_task = public_tests(__file__)
