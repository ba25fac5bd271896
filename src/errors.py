"""The errors a user can fix, and how ``python -m src.train`` reports them: one line, exit code 2."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager

from lightning.pytorch.utilities.exceptions import SIGTERMException

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
    "refused_before_training",
    "report_user_errors",
]


def refused_before_training(error: BaseException) -> bool:
    """A user error that stops a run before any training step (settings, files, a model): results.json
    ``status: refused``. A NaN/Inf loss happens while training: ``failed``."""
    return isinstance(error, UserError) and not isinstance(error, NumericsError)


@contextmanager
def report_user_errors() -> Iterator[None]:
    """Print ``error: <message>`` and exit 2 for the project's own errors; real bugs keep their traceback."""
    try:
        yield
    except USER_ERRORS as error:
        print(f"error: {error}", file=sys.stderr)
        sys.exit(USAGE_EXIT_CODE)
    except SIGTERMException:  # Lightning's is a SystemExit with code 0: a stopped job would look successful
        print(
            "error: stopped by SIGTERM; run the same command with the same hydra.run.dir to resume.",
            file=sys.stderr,
        )
        sys.exit(SIGTERM_EXIT_CODE)
