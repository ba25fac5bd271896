"""Tokenise GLUE examples (batched, for `Dataset.map`) and collate them into model batches."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch
from transformers import DataCollatorForSeq2Seq, PreTrainedTokenizerBase

from .tasks import GlueTask
from .text_to_text import format_input, format_target


def encode_for_encoder(
    batch: dict[str, list], task: GlueTask, tokenizer: PreTrainedTokenizerBase, max_length: int
) -> dict[str, list]:
    """Sentence (pair) -> input_ids, attention_mask (+ token_type_ids); the `label` column stays."""
    texts = [batch[name] for name in task.text_fields]
    return tokenizer(*texts, truncation=True, max_length=max_length)


def encode_text_to_text(
    batch: dict[str, list],
    task: GlueTask,
    tokenizer: PreTrainedTokenizerBase,
    max_length: int,
    target_max_length: int,
) -> dict[str, list]:
    """Prompt -> input_ids, attention_mask; target word -> `labels` token ids; the `label` column stays."""
    inputs = [
        format_input(task, texts) for texts in zip(*(batch[name] for name in task.text_fields), strict=True)
    ]
    targets = [format_target(task, label) for label in batch["label"]]
    encoded = tokenizer(inputs, truncation=True, max_length=max_length)
    encoded["labels"] = tokenizer(text_target=targets, truncation=True, max_length=target_max_length)[
        "input_ids"
    ]
    return encoded


@dataclass
class TextToTextCollator:
    """`DataCollatorForSeq2Seq` (labels padded with -100) plus `label`: the class index or score, for metrics.

    DataCollatorForSeq2Seq would treat a `label` key as the target sequence, so it is set aside first.
    """

    seq2seq: DataCollatorForSeq2Seq

    def __call__(self, features: list[dict[str, Any]]) -> dict[str, torch.Tensor]:
        label = torch.tensor([feature["label"] for feature in features])
        batch = self.seq2seq([{k: v for k, v in feature.items() if k != "label"} for feature in features])
        batch["label"] = label
        return batch
