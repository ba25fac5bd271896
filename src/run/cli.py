"""The command line around a ``@hydra.main`` function: a config mistake or any other user error is one
line and exit code 2; a job stopped by a signal (a preemption) exits 128 + the signal.

Hydra reports its own errors (a wrong type, an unknown key or option, a bad override) in several lines
and exits 1. ``hydra_cli`` has Hydra raise them instead (``HYDRA_FULL_ERROR=1``) and prints one line
naming the key and the fix. ``HYDRA_FULL_ERROR=1`` set by the user keeps Hydra's full traceback.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from hydra.core.override_parser.overrides_parser import OverridesParser
from hydra.errors import HydraException, OverrideParseException
from lightning.pytorch.utilities.exceptions import SIGTERMException
from omegaconf.errors import OmegaConfBaseException

from src.errors import USER_ERRORS
from src.run.run_folder import RunFolderRefused
from src.schema.messages import config_error_message

FULL_ERROR = "HYDRA_FULL_ERROR"
USAGE_EXIT_CODE = 2
SIGTERM_EXIT_CODE = 143  # 128 + SIGTERM, what a scheduler expects from a job it stopped


class TaskStarted:
    """Whether the task function was entered: an OSError before that is Hydra creating the run folder."""

    value = False


def hydra_cli(main: Callable[[], Any]) -> None:
    """Call ``main`` (a ``@hydra.main`` function): Hydra and OmegaConf errors become one line and exit 2."""
    previous = os.environ.get(FULL_ERROR)
    keep_traceback = previous == "1"
    os.environ[FULL_ERROR] = "1"  # Hydra raises instead of printing its multi-line report and exiting 1
    TaskStarted.value = False
    try:
        main()
    except OverrideParseException as error:
        if keep_traceback:
            raise
        refuse(f"cannot parse {unparsable_argument()!r}: {config_error_message(error)}")
    except (HydraException, OmegaConfBaseException) as error:
        if keep_traceback:
            raise
        refuse(config_error_message(error))
    except RunFolderRefused as refusal:  # before Hydra's logging: HYDRA_FULL_ERROR has nothing to add
        refuse(str(refusal))
    except OSError as error:
        if keep_traceback or TaskStarted.value or not error.filename:
            raise
        refuse(
            f"cannot write the run folder {error.filename} ({error.strerror}). Choose a folder you can write: "
            "hydra.run.dir=/path/to/run (multirun: hydra.sweep.dir=...), or paths.log_dir=/path/to/logs."
        )
    finally:
        if previous is None:
            os.environ.pop(FULL_ERROR, None)
        else:
            os.environ[FULL_ERROR] = previous


def unparsable_argument() -> str:
    """The first command-line argument Hydra's override grammar rejects."""
    parser = OverridesParser.create()
    for argument in sys.argv[1:]:
        if argument.startswith("-"):
            continue
        try:
            parser.parse_override(argument)
        except HydraException:
            return argument
    return " ".join(sys.argv[1:])


def refuse(message: str) -> None:
    print(f"error: {message}", file=sys.stderr)
    sys.exit(USAGE_EXIT_CODE)


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
