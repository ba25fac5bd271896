"""One uninterrupted smoke study, shared by the tests that compare against it (xdist group ``smoke_study``:
run on one worker, so it is run once)."""

from __future__ import annotations

from pathlib import Path

import pytest

from .helpers import study_cli


@pytest.fixture(scope="session")
def smoke_study(tmp_path_factory: pytest.TempPathFactory) -> Path:
    study_dir = tmp_path_factory.mktemp("smoke_study")
    done = study_cli(study_dir, "study=smoke")
    assert done.returncode == 0, done.stderr[-3000:]
    return study_dir
