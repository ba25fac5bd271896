"""Decoder-only sequence classifiers (Llama, Qwen2, Mistral, GPT-2): transformers' own
``*ForSequenceClassification``, which scores the last token that is not padding.

Decoder tokenizers usually have no padding token; as is usual for these models, padding reuses the
end-of-sequence token, in the tokenizer and (when the checkpoint names none) the model config, so batches
pad and the head finds each row's last real token. No ``token_type_ids`` (the architecture's row says so).
"""

from __future__ import annotations

from .base import BackboneError
from .encoder import EncoderClassifier


class DecoderClassifier(EncoderClassifier):
    family = "decoder"
    regression_targets = ("raw", "standardised")  # the score head has no bias to start at the labels' mean

    def __init__(self, model, tokenizer, regression: bool, load_tokenizer=None) -> None:
        super().__init__(model, tokenizer, regression, load_tokenizer)
        if model.config.pad_token_id is None:  # a pretrained checkpoint without one: take the tokenizer's
            _ = self.tokenizer

    def prepare_tokenizer(self, tokenizer):
        name = self.model.config.name_or_path or self.family
        if tokenizer.pad_token is None:
            if tokenizer.eos_token is None:
                raise BackboneError(
                    f"the tokenizer of {name} has neither a padding nor an end-of-sequence token; "
                    "point backbone.tokenizer at the model's own tokenizer."
                )
            tokenizer.pad_token = tokenizer.eos_token
        if self.model.config.pad_token_id is None:
            self.model.config.pad_token_id = tokenizer.pad_token_id
        if self.model.config.pad_token_id != tokenizer.pad_token_id:
            raise BackboneError(
                f"{name}: the model pads with token {self.model.config.pad_token_id} but the tokenizer with "
                f"{tokenizer.pad_token_id} ({tokenizer.pad_token!r}), so the head would pool the wrong token. "
                "Set backbone.config.pad_token_id to the tokenizer's (init=random) or use the model's own tokenizer."
            )
        return tokenizer
