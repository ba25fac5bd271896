"""What every backbone family provides: a model, its tokenizer, where adapters go, loss and predictions."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, ClassVar

import torch
from torch import nn

from src.adapters import Installed, Placement
from src.data import GlueTask
from src.data.regression_target import RegressionTarget
from src.errors import UserError
from src.fields import check_settings, setting

QUANTIZE = ("none", "nf4", "fp4", "int8")  # backbone.quantize (quantize.py)


class BackboneError(UserError):
    """A backbone that cannot be built as configured, with the fix in the message."""


PREDICT_MODES = ("generate", "score")


@dataclass
class BackboneSettings:
    """The ``backbone`` config group."""

    name: str
    family: str  # a Backbone subclass's ``family``: encoder, t5, ...
    pretrained: str  # hub id or local folder (save_pretrained)
    tokenizer: str | None = None  # null: from ``pretrained``
    init: str = setting(
        "pretrained", choices=("pretrained", "random")
    )  # random: the same architecture, random weights
    config: dict[str, Any] | None = None  # the architecture (init=random builds it without a download)
    cache_dir: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    predict: str | None = None  # text-to-text: "generate" (decode, string-match) or "score" (rank labels)
    # the frozen linear layers in 4 bits (nf4, fp4) or 8 bits (int8) through bitsandbytes; head in float
    quantize: str = setting("none", choices=QUANTIZE)

    def __post_init__(self) -> None:
        check_settings(self, "backbone")
        if self.predict not in (None, *PREDICT_MODES):
            raise BackboneError(
                f"backbone.predict={self.predict!r}: use 'generate' (decode and string-match; a non-label word "
                "is wrong) or 'score' (rank the label words by likelihood)."
            )


class Backbone(nn.Module, ABC):
    """A Hugging Face model wrapped with the few things that differ between families."""

    family: ClassVar[str]
    text_to_text: ClassVar[bool]
    prediction: str = "head"  # how predict() reads a prediction; results.json records it
    installed: Installed | None = None  # what adapters.apply put into the model (src.train keeps it here)
    # the task.regression_target values this family's head can take (src/data/regression_target.py)
    regression_targets: ClassVar[tuple[str, ...]] = ("raw",)
    regression_target: RegressionTarget | None = None  # a regression task's, set by use_regression_target

    def __init__(self, model: nn.Module, tokenizer, load_tokenizer: Callable[[], Any] | None = None) -> None:
        """``tokenizer``, or ``None`` and ``load_tokenizer``: loaded on first use, so a run that only counts
        parameters (``train=false test=false``) builds a random-init backbone without its tokenizer."""
        super().__init__()
        self.model = model
        self._tokenizer = tokenizer
        self._load_tokenizer = load_tokenizer

    @property
    def tokenizer(self):
        if self._tokenizer is None:
            self._tokenizer = self.prepare_tokenizer(self._load_tokenizer())
        return self._tokenizer

    def prepare_tokenizer(self, tokenizer):
        """Fit a freshly loaded tokenizer to the model (a decoder's padding token); returns it."""
        return tokenizer

    @classmethod
    @abstractmethod
    def build(cls, settings: BackboneSettings, task: GlueTask) -> Backbone: ...

    @abstractmethod
    def placement(self) -> Placement:
        """Where adapters go in this model instance."""

    @abstractmethod
    def loss(self, batch: dict[str, torch.Tensor]) -> torch.Tensor: ...

    @abstractmethod
    def predict(self, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        """Class indices (or scores for regression), aligned with ``targets(batch)``."""

    def loss_and_predictions(self, batch: dict[str, torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
        """What an eval step needs, ``(loss(batch), predict(batch))``; a family whose predictions come from the
        same forward as its loss computes both in one."""
        return self.loss(batch), self.predict(batch)

    def use_regression_target(self, target: RegressionTarget) -> None:
        """Train and predict a regression task's score as ``target`` says; call before adapters are installed."""
        if target.kind not in self.regression_targets:
            raise BackboneError(
                f"task.regression_target={target.kind}: the {self.family} family takes {list(self.regression_targets)}."
            )
        self.regression_target = target

    @property
    def non_label(self) -> float:
        """The prediction that means "no label" (every metric counts it wrong); NaN, equal to nothing, if none."""
        return float("nan")

    @abstractmethod
    def targets(self, batch: dict[str, torch.Tensor]) -> torch.Tensor: ...

    @abstractmethod
    def dummy_inputs(self, batch_size: int, seq_len: int, device: torch.device) -> dict[str, torch.Tensor]:
        """Random inputs for one forward pass (latency measurement)."""
