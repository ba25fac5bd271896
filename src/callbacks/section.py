"""What every kronlab callback shares: a switch, and one section of results.json that is also logged."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from numbers import Number
from typing import Any, ClassVar

import lightning as L
from lightning.pytorch.loggers import Logger

from src.backbones import Backbone


class SectionCallback(L.Callback):
    """Measures one section of results.json, keeps it (``result``) and logs its numbers; ``src.train`` collects
    the sections from the callbacks (``sections_of``), so no callback writes into the LightningModule."""

    section: ClassVar[str]
    log_prefix: ClassVar[str | None] = None  # the logged names' prefix, when not the section's name

    def __init__(self, enabled: bool = True) -> None:
        self.enabled = enabled
        self.result: dict[str, Any] | None = None

    def publish(self, trainer: L.Trainer, pl_module: L.LightningModule, section: dict[str, Any]) -> None:
        self.result = section
        self.log_section(trainer.loggers, section, step=trainer.global_step)

    def log_section(self, loggers: Iterable[Logger], section: Mapping[str, Any], step: int) -> None:
        """A measurement made once is one number, not a curve: it goes to the hyperparameters (W&B: the run
        config, beside the run summary that results.json becomes; CSV: hparams.yaml), never to the history."""
        flat = numbers_of(section, self.log_prefix or self.section)
        for logger in loggers:
            logger.log_hyperparams(flat)


class StandaloneMeasure(SectionCallback):
    """A callback whose measurement also runs on a built model without any Trainer (``train=false test=false``)."""

    def measure(self, backbone: Backbone) -> dict[str, Any]:
        raise NotImplementedError


def sections_of(callbacks: Iterable[L.Callback]) -> dict[str, Any]:
    """``{section: result}`` of every section callback that measured something."""
    return {c.section: c.result for c in callbacks if isinstance(c, SectionCallback) and c.result is not None}


def numbers_of(section: Mapping[str, Any], prefix: str) -> dict[str, float]:
    """The numeric leaves of a section, flattened to ``prefix/key/subkey`` (lists and strings are left out)."""
    flat: dict[str, float] = {}
    for key, value in section.items():
        name = f"{prefix}/{key}"
        if isinstance(value, Mapping):
            flat.update(numbers_of(value, name))
        elif isinstance(value, Number):
            flat[name] = float(value)
    return flat
