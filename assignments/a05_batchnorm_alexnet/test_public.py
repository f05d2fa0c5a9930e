"""Public tests of a05: `pytest assignments/a05_batchnorm_alexnet` grades your functions on the public suite."""
from grader.student import public_tests

test_task = public_tests(__file__)
