"""Run the callbacks that need no Trainer (parameter count, latency) on a built model: ``train=false test=false``."""

from __future__ import annotations

from typing import Any

from hydra.utils import get_class, instantiate
from lightning.pytorch.loggers import Logger
from omegaconf import DictConfig

from src.backbones import Backbone
from src.training.loggers import build_logger

from .section import StandaloneMeasure


def standalone_measures(callbacks_cfg: DictConfig | None) -> list[StandaloneMeasure]:
    """The enabled standalone callbacks of the ``callbacks`` config group, in config order."""
    chosen = [
        c
        for c in (callbacks_cfg or {}).values()
        if c is not None and "_target_" in c and issubclass(get_class(c._target_), StandaloneMeasure)
    ]
    return [m for m in (instantiate(c) for c in chosen) if m.enabled]


def configured_loggers(cfg: DictConfig) -> list[Logger]:
    """The logger the Trainer would get (``src.training.loggers.build_logger``), as a list."""
    logger = build_logger(cfg)
    return [logger] if logger else []


def standalone_sections(cfg: DictConfig, backbone: Backbone) -> dict[str, Any]:
    """The results.json sections of the standalone callbacks, also logged to the configured logger."""
    loggers = configured_loggers(cfg)
    sections: dict[str, Any] = {}
    for measure in standalone_measures(cfg.get("callbacks")):
        sections[measure.section] = measure.measure(backbone)
        measure.log_section(loggers, sections[measure.section], step=0)
    for logger in loggers:
        logger.finalize("success")
    return sections
