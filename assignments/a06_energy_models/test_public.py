"""Public tests of a06: `pytest assignments/a06_energy_models` grades your functions on the public suite."""
from grader.student import public_tests

test_task = public_tests(__file__)
