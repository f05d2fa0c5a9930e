"""Public tests of a02: `pytest assignments/a02_mlp_backprop` grades your functions on the public suite."""
from grader.student import public_tests

test_task = public_tests(__file__)
