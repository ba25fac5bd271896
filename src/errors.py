"""The errors a user can fix, and how ``python -m src.train`` reports them: one line, exit code 2."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager

from lightning.pytorch.utilities.exceptions import SIGTERMException

from src.atomic import DiskFullError
from src.fields import ConfigError
from src.user_errors import UserError

USAGE_EXIT_CODE = 2
SIGTERM_EXIT_CODE = 143  # 128 + SIGTERM, what a scheduler expects from a job it stopped


class NumericsError(UserError, RuntimeError):
    """Training produced a NaN/Inf loss; the message names the step, the batch and the first bad layer."""


USER_ERRORS: tuple[type[BaseException], ...] = (UserError,)  # every room's errors subclass it
__all__ = [
    "USER_ERRORS",
    "ConfigError",
    "NumericsError",
    "UserError",
    "failure_reason",
    "refused_before_training",
    "report_user_errors",
]


def refused_before_training(error: BaseException) -> bool:
    """A user error that stops a run before any training step (settings, files, a model): results.json
    ``status: refused``. A NaN/Inf loss happens while training: ``failed``."""
    return isinstance(error, UserError) and not isinstance(error, NumericsError | DiskFullError)


def failure_reason(error: BaseException) -> str:
    """results.json ``error.reason``: preempted (a stop signal; the same command resumes), disk_full, numerics, user
    (a setting, a file: the message says what to fix), or bug (a traceback was printed)."""
    if isinstance(error, SIGTERMException) or isinstance(error.__context__, SIGTERMException):
        return "preempted"  # the second: the launcher's requeue handler exiting while the stop was handled
    if isinstance(error, NumericsError):
        return "numerics"
    if isinstance(error, DiskFullError):
        return "disk_full"
    return "user" if isinstance(error, UserError) else "bug"


@contextmanager
def report_user_errors() -> Iterator[None]:
    """Print ``error: <message>`` and exit 2 for the project's own errors; real bugs keep their traceback."""
    try:
        yield
    except USER_ERRORS as error:
        print(f"error: {error}", file=sys.stderr)
        sys.exit(USAGE_EXIT_CODE)
    except (
        SIGTERMException
    ) as stop:  # Lightning's is a SystemExit with code 0: a stopped job would look successful
        what = str(stop) if stop.args and stop.args[0] else "stopped by SIGTERM"
        print(f"error: {what}; run the same command with the same hydra.run.dir to resume.", file=sys.stderr)
        number = getattr(stop, "signal", None)  # set by src/callbacks/preemption.py
        sys.exit(128 + number if number else SIGTERM_EXIT_CODE)
