"""Command-line overrides applied on top of a saved run's config, with Hydra's own grammar and rules.

``key=value`` changes an existing key (``+key=value`` adds one, ``~key`` deletes one, as in
``python -m src.train``); ``task=mrpc``, ``backbone=...``, ``trainer=...`` swap a whole config group
for that option of conf/ (composed by Hydra, its own defaults included). Options that rewrite the
whole run (``experiment=``, ``debug=``, ``sweep=``) belong to a new training run instead.
"""

from __future__ import annotations

from collections.abc import Sequence

from hydra import compose, initialize_config_dir
from hydra._internal.config_loader_impl import ConfigLoaderImpl
from hydra.core.override_parser.overrides_parser import OverridesParser
from hydra.core.override_parser.types import Override
from hydra.errors import HydraException
from omegaconf import DictConfig, OmegaConf, open_dict
from omegaconf.errors import OmegaConfBaseException

from src.config import CONF_DIR
from src.errors import ConfigError


def parse_overrides(args: Sequence[str]) -> list[Override]:
    try:
        return OverridesParser.create().parse_overrides(list(args))
    except HydraException as error:
        raise ConfigError(f"cannot parse the command line: {error}".replace("\n", " ")) from None


def is_group_choice(override: Override) -> bool:
    return (CONF_DIR / override.key_or_group).is_dir() and not (override.is_delete() or override.is_add())


def group_option(group: str, option: str) -> DictConfig:
    """The ``group`` node that ``group=option`` gives in ``python -m src.train`` (its defaults composed)."""
    folder = CONF_DIR / group
    options = sorted(p.relative_to(folder).with_suffix("").as_posix() for p in folder.rglob("*.yaml"))
    if option not in options:
        shown = ", ".join(options[:20]) + (f", ... ({len(options)} in {folder})" if len(options) > 20 else "")
        raise ConfigError(f"{group}={option}: no such option. Options: {shown}.")
    with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
        try:
            composed = compose(overrides=[f"+{group}={option}"])
        except HydraException:  # e.g. an experiment, which overrides other groups' choices
            composed = {"other config groups": None}
        if set(composed) != {group}:
            raise ConfigError(
                f"{group}={option} rewrites the whole run ({', '.join(sorted(composed))}), not one config group: "
                "train a new run with it instead of evaluating a saved one."
            )
        # The option's file holds only what differs from its schema: the full node comes from the run's config.
        return compose(config_name="train", overrides=[f"{group}={option}"])[group]


def apply_overrides(cfg: DictConfig, overrides: Sequence[Override]) -> None:
    """Group choices first, then values, as Hydra orders them when it composes a run."""
    for override in overrides:
        if is_group_choice(override):
            with open_dict(cfg):
                cfg[override.key_or_group] = group_option(override.key_or_group, str(override.value()))
    OmegaConf.set_struct(cfg, True)  # a typo is refused, not added: ``+key=value`` adds on purpose
    values = [o for o in overrides if not is_group_choice(o)]
    try:
        # Hydra's own step for value overrides (the one ``compose`` runs after the defaults list).
        ConfigLoaderImpl._apply_overrides_to_config(values, cfg)
    except (HydraException, OmegaConfBaseException) as error:
        raise ConfigError(" ".join(str(error).split())) from None
    OmegaConf.set_struct(cfg, False)
