"""One module for the errors a user can fix, a leaf: src.run.cli reports every room's errors without
importing the rooms."""

from __future__ import annotations

import subprocess
import sys

from src.adapters import AdapterError
from src.backbones import BackboneError
from src.config import ROOT
from src.data import DataError
from src.errors import USER_ERRORS, ConfigError, NumericsError, UserError


def test_every_rooms_error_is_a_user_error():
    for error in (AdapterError, BackboneError, DataError, ConfigError, NumericsError):
        assert issubclass(error, UserError) and issubclass(error, USER_ERRORS)


def test_errors_module_imports_no_room():
    probe = "import sys, src.errors; print(sorted(m for m in ('src.adapters', 'src.backbones', 'src.data') if m in sys.modules))"
    done = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"
