"""Errors about the user's files and runs that one line explains.

The tools print such an error's last line instead of a traceback (a
DataLoader worker re-raises it with the worker's traceback prepended, so the
user's message is always the last line).
"""


class UserFacingError(Exception):
    """Base class: a problem with a file, a config or a run, not a bug."""

    def one_line(self) -> str:
        lines = str(self).strip().splitlines()
        return lines[-1] if lines else type(self).__name__


class CheckpointError(UserFacingError, RuntimeError):
    """A checkpoint that is unsafe to unpickle, truncated or corrupt."""


class DataFileError(UserFacingError, ValueError):
    """An image or label file that cannot be used as it is."""


class NonFiniteLossError(UserFacingError, FloatingPointError):
    """A loss term became NaN or Inf during training."""
