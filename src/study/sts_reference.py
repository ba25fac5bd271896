"""The zero-shot reference for a sentence-similarity task: the frozen pretrained encoder's cosine similarity.

A regression task has no majority class to beat. What a trained method has to beat instead is what the
backbone already knows: each sentence encoded alone, mean-pooled over its tokens (how sentence-transformers
scores STS-B with all-MiniLM-L6-v2), the cosine of the two, and its Pearson correlation with the gold
scores on the dev rows the plan reports. No weight is trained; each sentence is cut at the plan's
max_length, as the trained methods' inputs are.
"""

from __future__ import annotations

import torch
from scipy import stats

from src.backbones.loading import load
from src.data import get_task
from src.data.readers import split_reader
from src.data.splits import make_splits


def mean_pooled(
    model, tokenizer, sentences: list[str], max_length: int, batch_size: int = 64
) -> torch.Tensor:
    chunks = []
    with torch.inference_mode():
        for start in range(0, len(sentences), batch_size):
            batch = tokenizer(
                sentences[start : start + batch_size],
                truncation=True,
                max_length=max_length,
                padding=True,
                return_tensors="pt",
            )
            hidden = model(**batch).last_hidden_state
            mask = batch["attention_mask"].unsqueeze(-1).to(hidden.dtype)
            chunks.append((hidden * mask).sum(1) / mask.sum(1))
    return torch.cat(chunks)


def frozen_cosine_pearson(
    task_name: str, pretrained: str, glue_dir: str | None, max_length: int, dev_rows: int | None = None
) -> float | None:
    """Pearson x100 of the frozen encoder's cosine similarity on the dev rows; None for a task that is not
    a sentence-pair regression."""
    from transformers import AutoModel, AutoTokenizer

    task = get_task(task_name)
    if not task.is_regression or len(task.text_fields) != 2:
        return None
    splits = make_splits(task, "glue", split_reader(task, "auto", glue_dir), seed=0)
    dev = next(iter(splits["validation"].values()))
    rows = len(dev) if dev_rows is None else min(dev_rows, len(dev))
    first, second = (list(dev[field][:rows]) for field in task.text_fields)
    model = load(AutoModel, pretrained, "model").eval()
    tokenizer = load(AutoTokenizer, pretrained, "tokenizer")
    a, b = (mean_pooled(model, tokenizer, side, max_length) for side in (first, second))
    cosine = torch.nn.functional.cosine_similarity(a, b).tolist()
    return 100 * float(stats.pearsonr(cosine, list(dev["label"][:rows])).statistic)
