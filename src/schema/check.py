"""``check_config``: every setting of a composed config checked, before any model or data is loaded."""

from __future__ import annotations

import typing

from omegaconf import DictConfig, OmegaConf
from omegaconf.errors import OmegaConfBaseException

from src import adapters
from src.backbones import families
from src.backbones.quantize import check_quantized_base
from src.data import TASKS, GlueTask, get_task
from src.data.readers import split_reader
from src.errors import ConfigError
from src.fields import check_settings

from .messages import config_error_message
from .root import TrainSettings
from .targets import PASSED_BY_KRONLAB, check_target
from .trainer import KRONLAB_KEYS

TYPED_GROUPS = ("task", "data", "backbone", "optim", "trainer")  # task first: data.max_length reads it


def check_config(cfg: DictConfig) -> GlueTask:
    """Raise the project's user error for the first setting out of range or not fitting the others; return
    the GLUE task the config names, the one the run hands its data module, LightningModule and metrics.

    Types were checked when Hydra composed ``cfg``; here each group's dataclass is built (its
    ``__post_init__`` checks ranges and choices), the adapter's config is built by its method, the
    ``_target_`` groups are checked against their targets' signatures, and the GLUE folder must exist
    (``ckpt_path`` is checked by src.train, which knows the run directory).
    """
    try:
        check_groups(cfg)
    except OmegaConfBaseException as error:  # an interpolation that does not resolve, a value left ???
        raise ConfigError(config_error_message(error)) from None
    task = get_task(cfg.task.name)
    if cfg.train or cfg.test:  # the GLUE folder must exist (a missing one is not a switch to the hub)
        split_reader(task, cfg.data.source, cfg.data.glue_dir)
    return task


def check_groups(cfg: DictConfig) -> None:
    check_settings(cfg, "", TrainSettings)
    schemas = typing.get_type_hints(TrainSettings)
    # each group built from its dataclass, also when cfg is a plain saved config (src.eval's)
    for group in TYPED_GROUPS:
        if group in cfg:
            values = OmegaConf.to_container(cfg[group], resolve=True)
            OmegaConf.to_object(OmegaConf.merge(OmegaConf.structured(schemas[group]), values))
    if cfg.backbone.family not in families():
        raise ConfigError(f"backbone.family={cfg.backbone.family!r}: choose one of {sorted(families())}.")
    method = adapters.build_config(OmegaConf.to_container(cfg.adapter, resolve=True))
    check_target(cfg.trainer, "trainer", skip=PASSED_BY_KRONLAB, own=KRONLAB_KEYS)
    if cfg.get("logger"):
        check_target(cfg.logger, "logger")
    for name, callback in (cfg.get("callbacks") or {}).items():
        if callback is not None and "_target_" in callback:
            check_target(callback, f"callbacks.{name}")
    check_quantized_base(cfg.backbone.get("quantize", "none"), method)
    check_regression_target(
        cfg.task.get("regression_target", "raw"), get_task(cfg.task.name), cfg.backbone.family
    )


def check_regression_target(kind: str, task: GlueTask, family: str) -> None:
    if kind == "raw":
        return
    if not task.is_regression:
        regression = [name for name, other in TASKS.items() if other.is_regression]
        raise ConfigError(
            f"task.regression_target={kind} is for a regression task ({', '.join(regression)}); "
            f"{task.name} is classification: drop the setting."
        )
    takes = families()[family].regression_targets
    if kind not in takes:
        raise ConfigError(f"task.regression_target={kind}: the {family} family takes {list(takes)}.")
