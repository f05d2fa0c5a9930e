"""os._exit(0) as soon as mlp.py is imported: every task of the file ends the process."""
import os

os._exit(0)
