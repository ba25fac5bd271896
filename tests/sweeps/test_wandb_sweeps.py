"""Each W&B sweep file gives `wandb agent` commands that compose to the intended Hydra configs."""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest
import yaml
from wandb.sdk.launch.sweeps.utils import create_sweep_command_args

from src.config import ROOT
from sweeps.factor_shapes import PAPER_TABLE_9

from ..conftest import compose_config
from .test_sweep_configs import ADAKRON_TABLE_3

WANDB_SWEEPS = sorted((ROOT / "sweeps" / "wandb").glob("*.yaml"))
AGENT_PREFIX = ["${env}", "${interpreter}", "-m", "src.train"]


def agent_commands(sweep: dict) -> list[list[str]]:
    """The Hydra overrides of every grid point, expanded with wandb's own ${args_no_hyphens} code."""
    names = list(sweep["parameters"])
    choices = [
        spec["values"] if "values" in spec else [spec["value"]] for spec in sweep["parameters"].values()
    ]
    commands = []
    for point in itertools.product(*choices):
        args = create_sweep_command_args(
            {"args": {n: {"value": v} for n, v in zip(names, point, strict=True)}}
        )
        command = []
        for chunk in sweep["command"]:
            command += args["args_no_hyphens"] if chunk == "${args_no_hyphens}" else [chunk]
        commands.append(command)
    return commands


def test_there_is_a_wandb_sweep_per_study():
    assert {p.stem for p in WANDB_SWEEPS} >= {"krona_shapes", "adakron_dims", "lr_seed"}


@pytest.mark.parametrize("path", WANDB_SWEEPS, ids=lambda p: p.stem)
def test_agent_commands_compose(path: Path):
    sweep = yaml.safe_load(path.read_text())
    assert sweep["method"] == "grid" and sweep["metric"]["name"] == "val/primary"
    commands = agent_commands(sweep)
    step = max(1, len(commands) // 3)  # a few points: composing is the slow part
    configs = []
    for command in commands[::step]:
        assert command[: len(AGENT_PREFIX)] == AGENT_PREFIX and "logger=wandb" in command
        configs.append(compose_config(command[len(AGENT_PREFIX) :]))
    assert all(c.logger._target_.endswith("WandbLogger") for c in configs)
    if path.stem == "krona_shapes":
        assert [tuple(c.adapter.a_shape) for c in configs] == PAPER_TABLE_9[::step]
        assert all(list(c.adapter.b_shape) == list(c.adapter.a_shape)[::-1] for c in configs)
    if path.stem == "adakron_dims":
        assert [(c.adapter.a, c.adapter.r // c.adapter.a) for c in configs] == ADAKRON_TABLE_3[::step]
