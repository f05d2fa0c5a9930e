"""What is graded, and everything of it that crosses into the sandboxed child: the task model, the
shared input generators, trees of inputs, central differences, and one suite per assignment.

Everything under this folder imports only the standard library, torch, numpy and itself.
"""
