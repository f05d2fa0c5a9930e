"""Public tests of a10: `pytest assignments/a10_attention` grades your functions on the public suite."""
from grader.student import public_tests

test_task = public_tests(__file__)
