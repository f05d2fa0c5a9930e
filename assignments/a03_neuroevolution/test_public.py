"""Public tests of a03: `pytest assignments/a03_neuroevolution` grades your functions on the public suite."""
from grader.student import public_tests

test_task = public_tests(__file__)
