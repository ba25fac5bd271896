"""logger=wandb through src.run.fit.run, offline, read back from the run's own W&B log.

The successful path (no API key: offline fallback, summary, tables, artifact) is checked on a real
multirun in test_multirun.py."""

from __future__ import annotations

import pytest
import wandb

from src.adapters import AdapterError
from src.run.wandb_run import RUN_ID_FILE, choose_mode

from .wandb_records import offline_run


def test_a_failing_run_still_closes_its_wandb_run(wandb_sandbox, run_quick):
    with pytest.raises(AdapterError, match="Valid shapes"):
        run_quick(
            "backbone=tiny_bert",
            "callbacks=none",
            "logger=wandb_offline",
            "adapter.a_shape=[5,5]",
            "adapter.b_shape=[5,5]",
        )
    assert wandb.run is None
    assert offline_run(wandb_sandbox / "run")["exit_code"] == 1


def test_mode_follows_the_environment_and_the_config(wandb_sandbox, monkeypatch):
    assert choose_mode({"offline": True}) == "offline"
    assert choose_mode({"offline": False}) == "offline"  # no credentials in the sandbox
    monkeypatch.setenv("WANDB_API_KEY", "x" * 40)
    assert choose_mode({"offline": False}) == "online"
    monkeypatch.setenv("WANDB_MODE", "offline")
    assert choose_mode({"offline": False}) == "offline"
    monkeypatch.setenv("WANDB_MODE", "disabled")
    assert choose_mode({"offline": False}) == "disabled"


def test_a_rerun_in_the_same_run_directory_continues_the_same_wandb_run(wandb_sandbox, run_quick):
    bad_shapes = (
        "backbone=tiny_bert",
        "callbacks=none",
        "logger=wandb_offline",
        "adapter.a_shape=[5,5]",
        "adapter.b_shape=[5,5]",
    )
    for _ in range(2):
        with pytest.raises(AdapterError):
            run_quick(*bad_shapes)
    run_id = (wandb_sandbox / "run" / RUN_ID_FILE).read_text()
    folders = sorted((wandb_sandbox / "run" / "wandb").glob("offline-run-*"))
    assert len(folders) == 2 and all(f"-{run_id}" in f.name for f in folders)
