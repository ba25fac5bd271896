"""Expand a sweep the way ``python -m src.train -m`` does, in-process, with Hydra's own sweeper code."""

from __future__ import annotations

from collections.abc import Sequence

from hydra import compose, initialize_config_dir
from hydra._internal.core_plugins.basic_sweeper import BasicSweeper
from hydra.core.override_parser.overrides_parser import OverridesParser
from omegaconf import DictConfig

from src.config import CONF_DIR


def compose_with_hydra(overrides: Sequence[str]) -> DictConfig:
    with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
        return compose(config_name="train", overrides=list(overrides), return_hydra_config=True)


def sweep_jobs(overrides: Sequence[str]) -> list[list[str]]:
    """One override list per multirun job: the sweep config's ``hydra.sweeper.params``, then the command line
    (which wins for the same key), expanded into their cartesian product as the basic sweeper does."""
    parser = OverridesParser.create()
    plain = [o.input_line for o in parser.parse_overrides(list(overrides)) if not o.is_sweep_override()]
    params = compose_with_hydra(plain).hydra.sweeper.params or {}
    merged = {key: f"{key}={value}" for key, value in params.items()}
    for override in overrides:
        merged[override.split("=", 1)[0]] = override
    parsed = parser.parse_overrides(list(merged.values()))
    batches = BasicSweeper.split_arguments(parsed, None)
    return [list(job) for batch in batches for job in batch]
