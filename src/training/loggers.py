"""The run's Lightning logger and what makes its charts worth reading.

- Curves: with a logger, a run also logs the learning rate per step (Lightning's ``LearningRateMonitor``).
- One number is not a curve: the scores of the best checkpoint (the final validate and test) go to the
  W&B run summary, not to its history; callbacks' single measurements go to the config (``SectionCallback``).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

import lightning as L
from hydra.utils import instantiate
from lightning.pytorch.callbacks import Callback, LearningRateMonitor
from lightning.pytorch.loggers import Logger, WandbLogger
from lightning.pytorch.utilities import rank_zero_only
from omegaconf import DictConfig


def build_logger(cfg: DictConfig) -> Logger | bool:
    """``trainer.logger`` when the trainer group sets one (false: none), else the ``logger`` group (null: none)."""
    chosen = (cfg.get("trainer") or {}).get("logger")
    if chosen is None:
        chosen = cfg.get("logger")
    return instantiate(chosen) if chosen else False


def curve_callbacks(logger: Logger | bool, callbacks: list[Callback]) -> list[Callback]:
    """A learning-rate curve for every logged run (unless the callbacks already have a monitor)."""
    if not logger or any(isinstance(c, LearningRateMonitor) for c in callbacks):
        return []
    return [LearningRateMonitor(logging_interval="step")]


class RunSummary(Logger):
    """Stands in for a ``WandbLogger`` while the best checkpoint is scored: the numbers go to the run summary."""

    def __init__(self, wandb_logger: WandbLogger) -> None:
        super().__init__()
        self.wandb_logger = wandb_logger

    @property
    def name(self) -> str | None:
        return self.wandb_logger.name

    @property
    def version(self) -> str | int | None:
        return self.wandb_logger.version

    @property
    def save_dir(self) -> str | None:
        return self.wandb_logger.save_dir

    def log_hyperparams(self, params: Any, *args: Any, **kwargs: Any) -> None:
        """The run config is the composed Hydra config, set when the run opened."""

    @rank_zero_only
    def log_metrics(self, metrics: Mapping[str, float], step: int | None = None) -> None:
        self.wandb_logger.experiment.summary.update({k: v for k, v in metrics.items() if k != "epoch"})


@contextmanager
def scores_to_summary(trainer: L.Trainer) -> Iterator[None]:
    """While inside: what Lightning logs to W&B lands in the run summary (other loggers log as usual)."""
    kept = trainer.loggers
    trainer.loggers = [RunSummary(lg) if isinstance(lg, WandbLogger) else lg for lg in kept]
    try:
        yield
    finally:
        trainer.loggers = kept
