"""Runs at interpreter start-up if user site is enabled."""
import sitecustomize  # noqa: F401
