"""How ``python -m src.train`` ends: one line and exit 2 for user errors, 143 for SIGTERM, tracebacks for bugs."""

from __future__ import annotations

import pytest
from lightning.pytorch.utilities.exceptions import SIGTERMException

from src.adapters import AdapterError
from src.run.cli import SIGTERM_EXIT_CODE, USAGE_EXIT_CODE, report_user_errors


def test_user_error_is_one_line_and_exit_2(capsys):
    with pytest.raises(SystemExit) as exit_info, report_user_errors():
        raise AdapterError("adapter.a_shape must be two positive integers like [32, 24], got [0].")
    assert exit_info.value.code == USAGE_EXIT_CODE
    assert (
        capsys.readouterr().err
        == "error: adapter.a_shape must be two positive integers like [32, 24], got [0].\n"
    )


def test_sigterm_is_not_reported_as_success(capsys):
    # Lightning raises SIGTERMException (a SystemExit with code 0) after a SIGTERM.
    with pytest.raises(SystemExit) as exit_info, report_user_errors():
        raise SIGTERMException()
    assert exit_info.value.code == SIGTERM_EXIT_CODE
    assert "hydra.run.dir" in capsys.readouterr().err


def test_bugs_keep_their_traceback():
    with pytest.raises(ZeroDivisionError), report_user_errors():
        _ = 1 / 0
