"""The study's config, and the config each of its jobs will see, composed with Hydra's own compose API."""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache

from hydra import compose, initialize_config_dir
from hydra.core.config_store import ConfigStore
from hydra.core.override_parser.overrides_parser import OverridesParser
from omegaconf import DictConfig, OmegaConf

from src.config import CONF_DIR
from src.schema.root import PathsSettings

from .settings import StudySettings

STUDY_CONFIG = "run_study"


def _register() -> None:
    store = ConfigStore.instance()
    store.store(group="schema/study", name="settings", node=StudySettings)
    store.store(name="study_paths_schema", node={"paths": PathsSettings})


_register()


def compose_study(overrides: Sequence[str]) -> StudySettings:
    """``study=<name> study.<key>=<value> ...`` -> the typed study, interpolations resolved."""
    with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
        cfg = compose(config_name=STUDY_CONFIG, overrides=list(overrides))
    study = OmegaConf.to_object(cfg.study)
    study.dir = OmegaConf.select(cfg, "study.dir")  # resolved against paths
    return study


@lru_cache(maxsize=4096)
def _train_config(overrides: tuple[str, ...]) -> DictConfig:
    with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
        return compose(config_name="train", overrides=list(overrides))


def train_config(overrides: Sequence[str]) -> DictConfig:
    """The config ``python -m src.train <overrides>`` sees (paths.output_dir must be among them)."""
    return _train_config(tuple(overrides))


def train_config_with(base: Sequence[str], values: Sequence[str]) -> DictConfig:
    """``train_config([*base, *values])`` for ``values`` that only set keys (``seed=3``, ``optim.lr=1e-3``):
    ``base`` is composed once and each value parsed by Hydra's own grammar, so a study of a thousand runs
    does not compose a thousand times."""
    cfg = train_config([*base, "paths.output_dir=/"]).copy()
    parser = OverridesParser.create()
    for override in parser.parse_overrides(list(values)):
        if (
            override.is_sweep_override()
            or override.is_add()
            or override.is_delete()
            or "/" in override.key_or_group
        ):
            raise ValueError(f"not a plain value override: {override.input_line}")
        OmegaConf.update(cfg, override.key_or_group, override.value(), merge=False)
    return cfg
