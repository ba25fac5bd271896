"""Overrides on top of a saved run's config follow Hydra's rules; a group choice swaps the whole group."""

from __future__ import annotations

import pytest
from omegaconf import OmegaConf

from src.errors import ConfigError
from src.run.overrides import apply_overrides, parse_overrides
from src.run.run_dir import run_config
from src.schema import check_config
from tests.conftest import compose_config


@pytest.fixture
def saved_run(tmp_path):
    """A run directory as Hydra leaves it: the composed config, interpolations kept."""
    (tmp_path / ".hydra").mkdir()
    OmegaConf.save(
        compose_config(["backbone=tiny_bert", "adapter=lora", "task=rte"]),
        tmp_path / ".hydra" / "config.yaml",
    )
    return tmp_path


def overridden(run_dir, *overrides: str):
    cfg = run_config(run_dir)
    apply_overrides(cfg, parse_overrides(overrides))
    return OmegaConf.to_container(cfg, resolve=True)


def test_values_and_group_choices(saved_run):
    cfg = overridden(
        saved_run, "task=stsb", "data.max_eval_samples=16", "+trainer.enable_progress_bar=false", "~seed"
    )
    assert cfg["task"]["name"] == "stsb"
    assert cfg["data"]["max_length"] == cfg["task"]["max_length"]  # the interpolation follows the new task
    assert cfg["data"]["max_eval_samples"] == 16 and cfg["trainer"]["enable_progress_bar"] is False
    assert "seed" not in cfg
    assert cfg["adapter"]["name"] == "lora" and cfg["paths"]["output_dir"] == str(saved_run)


def test_a_trainer_choice_composes_its_own_defaults(saved_run):
    cfg = overridden(saved_run, "trainer=debug")
    assert cfg["trainer"]["limit_val_batches"] == 1 and cfg["trainer"]["precision"] == "32-true"


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ("data.max_eval_sample=16", "Could not override 'data.max_eval_sample'"),
        ("task=nosuchtask", "task=nosuchtask: no such option. Options: cola, mnli"),
        ("experiment=krona_t5/rte_krona", "rewrites the whole run"),
        ("data.batch_size=[", "cannot parse the command line"),
    ],
)
def test_mistakes_are_one_line(saved_run, override, message):
    with pytest.raises(ConfigError, match=message) as refused:
        overridden(saved_run, override)
    assert "\n" not in str(refused.value)


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ("data.max_eval_samples=0", "data.max_eval_samples=0: give a value >= 1"),
        ("data.max_eval_samples=-5", "data.max_eval_samples=-5: give a value >= 1"),
        ("optim.lr=-1", "optim.lr"),
    ],
)
def test_a_saved_config_with_overrides_gets_the_checks_of_a_training_run(saved_run, override, message):
    """src.eval checks the saved config with its overrides as src.train does (a plain config, not composed)."""
    cfg = run_config(saved_run)
    check_config(cfg)  # the saved config itself passes
    apply_overrides(cfg, parse_overrides([override]))
    with pytest.raises(ConfigError, match=message):
        check_config(cfg)
