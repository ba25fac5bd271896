"""Encoder classifiers (BERT, RoBERTa, MiniLM): a sequence-classification head, regression for STS-B."""

from __future__ import annotations

import torch
from torch import nn
from transformers import AutoModelForSequenceClassification

from src.adapters import Placement, Site
from src.data import GlueTask

from .base import Backbone, BackboneError, BackboneSettings
from .loading import load_model, load_tokenizer

MODEL_INPUTS = ("input_ids", "attention_mask", "token_type_ids")


class EncoderClassifier(Backbone):
    family = "encoder"
    text_to_text = False
    model_types = ("bert", "roberta")

    @classmethod
    def build(cls, settings: BackboneSettings, task: GlueTask) -> EncoderClassifier:
        if settings.predict is not None:
            raise BackboneError(
                f"backbone.predict={settings.predict!r} is for text-to-text backbones (T5); "
                f"{settings.name} predicts with its classification head: drop the setting."
            )
        model = load_model(
            AutoModelForSequenceClassification,
            settings,
            num_labels=task.num_labels,
            problem_type="regression" if task.is_regression else "single_label_classification",
        )
        return cls(model, load_tokenizer(settings), task)

    def placement(self) -> Placement:
        prefix = self.model.base_model_prefix
        layers = [f"{prefix}.encoder.layer.{i}" for i in range(self.model.config.num_hidden_layers)]
        hidden = self.model.config.hidden_size
        return Placement(
            family=self.family,
            hidden_size=hidden,
            default_targets=("query", "value"),
            ffn=tuple(Site(f"{layer}.intermediate", f"{layer}.output.dense", hidden) for layer in layers),
            attention=tuple(
                Site(f"{layer}.attention.self", f"{layer}.attention.output.dense", hidden) for layer in layers
            ),
            head_prefixes=("classifier",),
            norm_types=(nn.LayerNorm,),
            extra={
                "self_attention": tuple(f"{layer}.attention.self" for layer in layers),
                "num_heads": self.model.config.num_attention_heads,
            },
        )

    def _inputs(self, batch: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        return {k: batch[k] for k in MODEL_INPUTS if k in batch}

    def loss(self, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        return self.model(**self._inputs(batch), labels=batch["labels"]).loss

    def predict(self, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        logits = self.model(**self._inputs(batch)).logits
        return logits.squeeze(-1) if self.task.is_regression else logits.argmax(-1)

    def targets(self, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        return batch["labels"]

    def dummy_inputs(self, batch_size: int, seq_len: int, device: torch.device) -> dict[str, torch.Tensor]:
        ids = torch.randint(0, self.model.config.vocab_size, (batch_size, seq_len), device=device)
        return {"input_ids": ids, "attention_mask": torch.ones_like(ids)}
