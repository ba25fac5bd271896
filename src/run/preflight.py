"""Checks that the task, data settings and built backbone fit together, run before any training."""

from __future__ import annotations

from typing import Any

from src.backbones import Backbone
from src.backbones.architectures import usable_positions
from src.data import GlueTask
from src.errors import ConfigError


def check_fits(backbone: Backbone, task: GlueTask, data: dict[str, Any]) -> None:
    """Refuse settings that would fail (or silently misbehave) deep inside the model."""
    for key in ("max_length", "batch_size", "eval_batch_size"):
        value = data.get(key)
        if not isinstance(value, int) or value < 1:
            raise ConfigError(f"data.{key}={value!r}: set a positive integer.")
    config = backbone.model.config
    usable = usable_positions(config)
    max_length = data.get("max_length")
    # Models with absolute positions index past their table (RoBERTa also reserves slots for padding).
    if usable is not None and max_length is not None:
        if max_length > usable:
            raise ConfigError(
                f"data.max_length={max_length} is longer than backbone {config.model_type!r} can embed "
                f"({usable} positions). Set data.max_length={usable} or less."
            )
    if not backbone.text_to_text:
        head_labels = getattr(config, "num_labels", None)
        if head_labels is not None and head_labels != task.num_labels:
            raise ConfigError(
                f"the model's head has {head_labels} outputs but task {task.name!r} needs "
                f"{task.num_labels}. Remove num_labels from backbone.config (the task sets it)."
            )
