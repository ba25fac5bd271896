"""Encoder classifiers (BERT, RoBERTa, DeBERTa-v2/v3, MiniLM): a sequence-classification head,
regression for STS-B. Where adapters go comes from the model_type's row in ``architectures.py``."""

from __future__ import annotations

from typing import ClassVar

import torch
from torch import nn
from transformers import AutoModelForSequenceClassification

from src.adapters import Placement
from src.data import GlueTask
from src.data.regression_target import REGRESSION_TARGETS, RegressionTarget

from .architectures import architecture, placement_for
from .base import Backbone, BackboneError, BackboneSettings
from .loading import load_model, load_tokenizer


class EncoderClassifier(Backbone):
    family: ClassVar[str] = "encoder"
    text_to_text = False
    regression_targets = REGRESSION_TARGETS

    def __init__(self, model, tokenizer, regression: bool, load_tokenizer=None) -> None:
        super().__init__(model, tokenizer, load_tokenizer)
        self.regression = regression  # one output, a score (STS-B), instead of one logit per class
        row = architecture(model.config.model_type, self.family, model.config.name_or_path or self.family)
        self._model_inputs = (
            "input_ids",
            "attention_mask",
            *(("token_type_ids",) if row.token_type_ids else ()),
        )

    @classmethod
    def check_settings(cls, settings: BackboneSettings) -> None:
        if settings.predict is not None:
            raise BackboneError(
                f"backbone.predict={settings.predict!r} is for text-to-text backbones (T5); "
                f"{settings.name} predicts with its classification head: drop the setting."
            )
        if settings.init == "random" and settings.config:
            architecture(settings.config.get("model_type"), cls.family, settings.name)

    @classmethod
    def build(cls, settings: BackboneSettings, task: GlueTask) -> EncoderClassifier:
        cls.check_settings(settings)
        model = load_model(
            AutoModelForSequenceClassification,
            settings,
            num_labels=task.num_labels,
            problem_type="regression" if task.is_regression else "single_label_classification",
        )
        architecture(model.config.model_type, cls.family, settings.name)
        return cls(model, None, task.is_regression, lambda: load_tokenizer(settings))

    def placement(self) -> Placement:
        return placement_for(self.model, self.family)

    def use_regression_target(self, target: RegressionTarget) -> None:
        super().use_regression_target(target)
        if target.initial_bias is not None:
            with torch.no_grad():
                output_layer(self.model).bias.fill_(target.initial_bias)

    def _inputs(self, batch: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        return {k: batch[k] for k in self._model_inputs if k in batch}

    def loss(self, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        return self.model(**self._inputs(batch), labels=self._labels(batch)).loss

    def predict(self, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        return self._predictions(self.model(**self._inputs(batch)).logits)

    def loss_and_predictions(self, batch: dict[str, torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
        output = self.model(**self._inputs(batch), labels=self._labels(batch))  # one forward for both
        return output.loss, self._predictions(output.logits)

    def _labels(self, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        labels = batch["labels"]
        return self.regression_target.encode(labels) if self.regression_target else labels

    def _predictions(self, logits: torch.Tensor) -> torch.Tensor:
        if not self.regression:
            return logits.argmax(-1)
        scores = logits.squeeze(-1)
        return self.regression_target.decode(scores) if self.regression_target else scores

    def targets(self, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        return batch["labels"]

    def dummy_inputs(self, batch_size: int, seq_len: int, device: torch.device) -> dict[str, torch.Tensor]:
        ids = torch.randint(0, self.model.config.vocab_size, (batch_size, seq_len), device=device)
        return {"input_ids": ids, "attention_mask": torch.ones_like(ids)}


def output_layer(model: nn.Module) -> nn.Linear:
    """The head's last linear layer, the one that writes the logits (outside the base model)."""
    prefix = model.base_model_prefix
    layers = [
        module
        for name, module in model.named_modules()
        if isinstance(module, nn.Linear)
        and module.out_features == model.config.num_labels
        and not (name == prefix or name.startswith(f"{prefix}."))
    ]
    if not layers or layers[-1].bias is None:
        raise BackboneError(
            f"{model.config.name_or_path or model.config.model_type}: no output bias in the head to start at the "
            "labels' mean; use task.regression_target=standardised."
        )
    return layers[-1]
