"""Training speed: every optimiser step timed, reported as the median over the steps after a warm-up with
its spread (quartiles, min, max), and logged per step as the ``train/step_ms`` curve.

A step is timed from the start of its first (accumulated) batch to the end of the batch whose
optimiser step completes it: forward, backward and optimiser, not the data loading between batches.
"""

from __future__ import annotations

import statistics
import time
from typing import Any

import lightning as L
import torch
from lightning.pytorch.utilities.data import extract_batch_size

from .section import SectionCallback


def synchronize(device: torch.device) -> None:
    if device.type != "cpu":
        torch.accelerator.synchronize(device)


def spread(values_ms: list[float]) -> dict[str, float]:
    """Median, quartiles and extremes of a list of step times (quartiles need two or more values)."""
    quartiles = (
        statistics.quantiles(values_ms, n=4, method="inclusive") if len(values_ms) > 1 else [values_ms[0]] * 3
    )
    return {
        "step_ms": quartiles[1],
        "step_ms_p25": quartiles[0],
        "step_ms_p75": quartiles[2],
        "step_ms_min": min(values_ms),
        "step_ms_max": max(values_ms),
    }


class TrainSpeedCallback(SectionCallback):
    """``results.json["train_speed"]``: median step time and its spread, samples/s, how many steps were timed."""

    section = "train_speed"

    def __init__(self, enabled: bool = True, warmup_steps: int = 5) -> None:
        super().__init__(enabled)
        if warmup_steps < 0:
            raise ValueError(f"callbacks.train_speed.warmup_steps={warmup_steps}: must be 0 or more.")
        self.warmup_steps = warmup_steps
        self.steps: list[tuple[float, int]] = []  # (seconds, samples) per optimiser step, in order
        self._pending = (0.0, 0)
        self.first_step_at: float | None = None

    def on_train_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self.steps, self._pending, self.first_step_at = [], (0.0, 0), None

    def on_train_batch_start(
        self, trainer: L.Trainer, pl_module: L.LightningModule, batch: Any, batch_idx: int
    ) -> None:
        if self.enabled:
            synchronize(pl_module.device)
            self._step_before = trainer.global_step
            self._started = time.perf_counter()
            if self.first_step_at is None:
                self.first_step_at = time.time()

    def on_train_batch_end(
        self, trainer: L.Trainer, pl_module: L.LightningModule, outputs: Any, batch: Any, batch_idx: int
    ) -> None:
        if not self.enabled:
            return
        synchronize(pl_module.device)
        seconds, samples = self._pending
        self._pending = (seconds + time.perf_counter() - self._started, samples + extract_batch_size(batch))
        if trainer.global_step > self._step_before:
            self.steps.append(self._pending)
            pl_module.log("train/step_ms", 1e3 * self._pending[0], on_step=True, on_epoch=False, batch_size=1)
            self._pending = (0.0, 0)

    def on_train_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if self.enabled and self.steps:
            self.publish(trainer, pl_module, self.summary())

    def summary(self) -> dict[str, Any]:
        """Statistics over the steps after the warm-up (at least one step is always kept)."""
        skipped = min(self.warmup_steps, len(self.steps) - 1)
        measured = self.steps[skipped:]
        seconds = sum(s for s, _ in measured)
        samples = sum(n for _, n in measured)
        return {
            **spread([1e3 * s for s, _ in measured]),
            "statistic": "median over the timed steps",
            "samples_per_s": samples / seconds,
            "measured_steps": len(measured),
            "warmup_steps": skipped,
            "samples_per_step": samples / len(measured),
            # wall clock (Unix seconds) when the first training batch began: a launcher's overhead ends here
            "first_step_at": self.first_step_at,
        }
