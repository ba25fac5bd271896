"""conf/hparams_search: one search config per registered method, each a maximising Optuna search of
optim.lr on a log scale, scored on the search split (training rows only)."""

from __future__ import annotations

import math

import pytest
from hydra import compose, initialize_config_dir
from hydra.core.override_parser.overrides_parser import OverridesParser

from src.adapters import METHODS
from src.config import CONF_DIR
from src.train import objective

SEARCH_DIR = CONF_DIR / "hparams_search"


def test_every_registered_method_has_a_search_config():
    missing = sorted(set(METHODS) - {p.stem for p in SEARCH_DIR.glob("*.yaml")})
    assert not missing, f"add conf/hparams_search/<method>.yaml (see lora.yaml) for: {missing}"


def sweep_of(name: str):
    with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
        cfg = compose(config_name="train", overrides=[f"hparams_search={name}"], return_hydra_config=True)
    return cfg


def searched(cfg, key: str):
    [override] = OverridesParser.create().parse_overrides([f"{key}={cfg.hydra.sweeper.params[key]}"])
    return override


@pytest.mark.parametrize("method", sorted(METHODS))
def test_search_config_searches_the_learning_rate_of_its_method_on_training_rows(method: str):
    cfg = sweep_of(method)
    assert cfg.adapter.name == method
    assert cfg.hydra.sweeper._target_.endswith("OptunaSweeper")
    assert cfg.hydra.sweeper.direction == "maximize"
    assert cfg.data.split_protocol == "search"
    lr = searched(cfg, "optim.lr")
    assert lr.is_interval_sweep() and "log" in lr.value().tags
    low, high = lr.value().start, lr.value().end
    assert 0 < low < high <= 0.1
    for key in cfg.hydra.sweeper.params:  # every searched knob is a setting of the method
        section, _, name = key.partition(".")
        assert name in cfg[section], f"{method}: hydra.sweeper.params.{key} is not a setting"


def test_the_lr_only_search_keeps_the_adapter_given():
    with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
        cfg = compose(config_name="train", overrides=["hparams_search=lr", "adapter=compacter"])
    assert cfg.adapter.name == "compacter" and cfg.data.split_protocol == "search"


@pytest.mark.parametrize(
    ("metrics", "expected"),
    [
        ({"validation": {"accuracy": 0.75, "f1": 0.5}}, 0.75),
        ({"validation": {"pearson": math.nan}}, None),
        ({}, None),
    ],
)
def test_the_objective_is_the_primary_validation_metric_or_none(metrics: dict, expected):
    assert objective({"metrics": metrics}) == expected
