"""Encoder classifiers (BERT, RoBERTa, DeBERTa-v2/v3, MiniLM): a sequence-classification head,
regression for STS-B. Where adapters go comes from the model_type's row in ``architectures.py``."""

from __future__ import annotations

from typing import ClassVar

import torch
from transformers import AutoModelForSequenceClassification

from src.adapters import Placement
from src.data import GlueTask

from .architectures import architecture, placement_for
from .base import Backbone, BackboneError, BackboneSettings
from .loading import load_model, load_tokenizer


class EncoderClassifier(Backbone):
    family: ClassVar[str] = "encoder"
    text_to_text = False

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

    def _inputs(self, batch: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        return {k: batch[k] for k in self._model_inputs if k in batch}

    def loss(self, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        return self.model(**self._inputs(batch), labels=batch["labels"]).loss

    def predict(self, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        return self._predictions(self.model(**self._inputs(batch)).logits)

    def loss_and_predictions(self, batch: dict[str, torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
        output = self.model(**self._inputs(batch), labels=batch["labels"])  # one forward for both
        return output.loss, self._predictions(output.logits)

    def _predictions(self, logits: torch.Tensor) -> torch.Tensor:
        return logits.squeeze(-1) if self.regression else logits.argmax(-1)

    def targets(self, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        return batch["labels"]

    def dummy_inputs(self, batch_size: int, seq_len: int, device: torch.device) -> dict[str, torch.Tensor]:
        ids = torch.randint(0, self.model.config.vocab_size, (batch_size, seq_len), device=device)
        return {"input_ids": ids, "attention_mask": torch.ones_like(ids)}
