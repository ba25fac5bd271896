"""T5's text-to-text view of a GLUE example: the input string and the target word.

Reading a prediction back is the T5 backbone's job (src/backbones/t5.py).
"""

from __future__ import annotations

from collections.abc import Sequence

from .tasks import GlueTask


def format_input(task: GlueTask, texts: Sequence[str]) -> str:
    """E.g. "rte sentence1: <text> sentence2: <text>"."""
    fields = " ".join(f"{name}: {text}" for name, text in zip(task.text_fields, texts, strict=True))
    return f"{task.name} {fields}"


def format_target(task: GlueTask, label: int | float) -> str:
    """The label word, or for regression the score rounded to the nearest 0.2, e.g. "3.4" (ties to even, as T5's tf.round)."""
    if task.is_regression:
        return f"{round(label * 5) / 5:.1f}"
    return task.verbalizers[label]
