"""Public tests of a07: `pytest assignments/a07_autoencoders_dbn` grades your functions on the public suite."""
from grader.student import public_tests

test_task = public_tests(__file__)
