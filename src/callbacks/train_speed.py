"""Training speed: milliseconds per optimiser step and samples per second, averaged after a warm-up.

A step is timed from the start of its first (accumulated) batch to the end of the batch whose
optimiser step completes it: forward, backward and optimiser, not the data loading between batches.
"""

from __future__ import annotations

import time
from typing import Any

import lightning as L
import torch
from lightning.pytorch.utilities.data import extract_batch_size

from .section import SectionCallback


def synchronize(device: torch.device) -> None:
    if device.type != "cpu":
        torch.accelerator.synchronize(device)


class TrainSpeedCallback(SectionCallback):
    """``results.json["train_speed"]``: step_ms, samples_per_s, and how many steps were measured."""

    section = "train_speed"

    def __init__(self, enabled: bool = True, warmup_steps: int = 5) -> None:
        super().__init__(enabled)
        if warmup_steps < 0:
            raise ValueError(f"callbacks.train_speed.warmup_steps={warmup_steps}: must be 0 or more.")
        self.warmup_steps = warmup_steps
        self._steps: list[tuple[float, int]] = []  # (seconds, samples) per optimiser step
        self._pending = (0.0, 0)

    def on_train_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self._steps, self._pending = [], (0.0, 0)

    def on_train_batch_start(self, trainer: L.Trainer, pl_module: L.LightningModule, batch: Any, batch_idx: int) -> None:
        if self.enabled:
            synchronize(pl_module.device)
            self._step_before = trainer.global_step
            self._started = time.perf_counter()

    def on_train_batch_end(
        self, trainer: L.Trainer, pl_module: L.LightningModule, outputs: Any, batch: Any, batch_idx: int
    ) -> None:
        if not self.enabled:
            return
        synchronize(pl_module.device)
        seconds, samples = self._pending
        self._pending = (seconds + time.perf_counter() - self._started, samples + extract_batch_size(batch))
        if trainer.global_step > self._step_before:
            self._steps.append(self._pending)
            self._pending = (0.0, 0)

    def on_train_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if self.enabled and self._steps:
            self.publish(trainer, pl_module, self.summary())

    def summary(self) -> dict[str, Any]:
        """Averages over the steps after the warm-up (at least one step is always kept)."""
        skipped = min(self.warmup_steps, len(self._steps) - 1)
        measured = self._steps[skipped:]
        seconds = sum(s for s, _ in measured)
        samples = sum(n for _, n in measured)
        return {
            "step_ms": 1e3 * seconds / len(measured),
            "samples_per_s": samples / seconds,
            "measured_steps": len(measured),
            "warmup_steps": skipped,
            "samples_per_step": samples / len(measured),
        }
