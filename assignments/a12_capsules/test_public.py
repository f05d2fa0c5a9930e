"""Public tests of a12: `pytest assignments/a12_capsules` grades your functions on the public suite."""
from grader.student import public_tests

test_task = public_tests(__file__)
