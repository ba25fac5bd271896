"""logger=wandb through src.train.run, offline, read back from the run's own W&B log."""

from __future__ import annotations

import logging

import pytest
import wandb

from src.adapters import AdapterError
from src.wandb_run import ADAPTER_DIR, choose_mode

from .wandb_records import offline_run


def test_no_api_key_falls_back_to_offline_and_logs_everything(wandb_sandbox, run_quick, caplog):
    with caplog.at_level(logging.WARNING, logger="src.wandb_run"):
        results = run_quick(
            "backbone=tiny_bert", "task=rte", "callbacks=none", "logger=wandb", "logger.tags=[smoke]"
        )
    assert "no API key" in caplog.text
    run_dir = wandb_sandbox / "run"
    logged = offline_run(run_dir)
    assert logged["exit_code"] == 0
    assert logged["tags"] == ["smoke"]
    assert logged["config"]["adapter"]["name"] == "krona"
    assert logged["config"]["task"]["name"] == "rte"
    assert logged["summary"]["params"]["trainable"] == results["params"]["trainable"]
    assert logged["summary"]["metrics"]["test"] == pytest.approx(results["metrics"]["test"])
    assert "params_table/_type" in logged["summary"]
    assert ("adapter", f"adapter-{logged_run_id(run_dir)}") in logged["artifacts"]
    assert (run_dir / ADAPTER_DIR / "adapter.safetensors").is_file()
    assert wandb.run is None


def logged_run_id(run_dir) -> str:
    return next(run_dir.glob("wandb/offline-run-*")).name.rsplit("-", 1)[-1]


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
