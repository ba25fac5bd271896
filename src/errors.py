"""Every error a user can fix: the one base class, and the errors more than one room raises.

A leaf module: it imports nothing of kronlab (nor Lightning, nor Hydra), so every room, the pure-PyTorch
adapters included, raises from here or subclasses ``UserError`` itself (AdapterError, BackboneError,
LaunchError, CheckpointError), and ``src.run.cli`` reports them all without importing the rooms.
"""

from __future__ import annotations


class UserError(ValueError):
    """Settings, files or a model the user can fix; the message says how. The CLI prints it in one line, exit 2."""


class ConfigError(UserError):
    """Settings out of range or that do not fit together (e.g. task and backbone), with the fix in the message."""


class DataError(UserError):
    """GLUE data is missing, unreadable or malformed; the message says how to fix it."""


class NumericsError(UserError, RuntimeError):
    """Training produced a NaN/Inf loss; the message names the step, the batch and the first bad layer."""


class DiskFullError(UserError):
    """No space (or quota) left while writing: the previous file is intact; the message says how much is needed."""


USER_ERRORS: tuple[type[BaseException], ...] = (UserError,)  # every room's errors subclass it


def refused_before_training(error: BaseException) -> bool:
    """A user error that stops a run before any training step (settings, files, a model): results.json
    ``status: refused``. A NaN/Inf loss or a full disk happens while training: ``failed``."""
    return isinstance(error, UserError) and not isinstance(error, NumericsError | DiskFullError)
