"""How a regression head meets its target (``task.regression_target``), from the training rows' labels.

- ``raw``: the papers' protocol; the head starts at 0 and learns the score as it is.
- ``head_bias``: as raw, with the head's output bias started at the training labels' mean.
- ``standardised``: the head learns ``(score - mean) / std``; its outputs are mapped back before scoring.

STS-B's labels average 2.7: under raw, Adam moves the head's bias by about the learning rate a step, so at a
short budget a method's score measures how far that walk got (docs/BENCHMARKS.md section 4). Pearson and
Spearman are unchanged by an affine map of the predictions, so a protocol changes what is learnt, not how it
is scored.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import torch

REGRESSION_TARGETS = ("raw", "head_bias", "standardised")


@dataclass(frozen=True)
class RegressionTarget:
    kind: str
    mean: float  # of the training labels the run trains on
    std: float

    @classmethod
    def from_labels(cls, kind: str, labels: Sequence[float]) -> RegressionTarget:
        if kind not in REGRESSION_TARGETS:
            raise ValueError(f"regression target {kind!r}: choose one of {REGRESSION_TARGETS}")
        values = torch.as_tensor(list(labels), dtype=torch.float64)
        if values.numel() < 2:
            raise ValueError("a regression target needs at least two training labels")
        std = values.std().item()
        return cls(kind, values.mean().item(), std if std > 0 and math.isfinite(std) else 1.0)

    def encode(self, labels: torch.Tensor) -> torch.Tensor:
        """The labels as the head is trained on them."""
        if self.kind != "standardised":
            return labels
        return (labels - self.mean) / self.std

    def decode(self, outputs: torch.Tensor) -> torch.Tensor:
        """The head's outputs as scores on the labels' scale."""
        if self.kind != "standardised":
            return outputs
        return outputs * self.std + self.mean

    @property
    def initial_bias(self) -> float | None:
        """Where the head's output bias starts (None: where the model put it)."""
        return self.mean if self.kind == "head_bias" else None

    def record(self) -> dict[str, float | str]:
        return {"kind": self.kind, "train_label_mean": self.mean, "train_label_std": self.std}
