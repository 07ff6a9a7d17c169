"""Metrics of mmsimmm's own tasks (the others use their library's)."""
from .metrics import *  # noqa: F401,F403
