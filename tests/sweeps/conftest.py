"""W&B never talks to a server in these tests: no API key, its folders under the test's tmp dir."""

from __future__ import annotations

import pytest


@pytest.fixture
def wandb_sandbox(tmp_path, monkeypatch):
    for var in ("WANDB_API_KEY", "WANDB_MODE", "WANDB_SWEEP_ID", "WANDB_RUN_ID", "WANDB_RUN_GROUP"):
        monkeypatch.delenv(var, raising=False)
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))  # no ~/.netrc: no credentials
    for var, sub in (
        ("WANDB_CONFIG_DIR", "config"),
        ("WANDB_CACHE_DIR", "cache"),
        ("WANDB_DATA_DIR", "data"),
    ):
        monkeypatch.setenv(var, str(tmp_path / "wandb" / sub))
    monkeypatch.setenv("WANDB_SILENT", "true")
    return tmp_path
