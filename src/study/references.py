"""What a trained method must beat on each task: the majority class on a classification task, and on a
sentence-pair regression task the frozen pretrained encoder's cosine similarity (src.study.sts_reference)."""

from __future__ import annotations

import collections
from collections.abc import Sequence

from .compose import train_config
from .jobs import Job


def majority_baseline(task_name: str, glue_dir: str | None, dev_rows: int | None = None) -> float | None:
    """The dev score (x100) of always predicting the training set's most frequent label (on the first
    ``dev_rows`` dev rows when the study scores only those); None for a regression task."""
    import torch

    from src.data import get_task
    from src.data.readers import split_reader
    from src.data.splits import make_splits
    from src.training.metrics import build_metrics, finish

    task = get_task(task_name)
    if task.is_regression:
        return None
    splits = make_splits(task, "glue", split_reader(task, "auto", glue_dir), seed=0)
    majority = collections.Counter(splits["train"]["label"]).most_common(1)[0][0]
    dev = next(iter(splits["validation"].values()))["label"][:dev_rows]
    metrics = build_metrics(task)
    metrics.update(torch.full((len(dev),), majority), torch.tensor(dev))
    return 100 * next(iter(finish(task, metrics.compute()).values()))


def majority_baselines(jobs: Sequence[Job]) -> dict[str, float | None]:
    out = {}
    for task in dict.fromkeys(job.task for job in jobs):
        cfg = train_config(next(job for job in jobs if job.task == task).overrides)
        out[task] = majority_baseline(task, cfg.data.glue_dir, cfg.data.get("max_eval_samples"))
    return out


def zero_shot_references(jobs: Sequence[Job]) -> dict[tuple[str, str], float]:
    """(backbone, task) -> the frozen encoder's score on a sentence-pair regression task, for the pretrained
    encoder backbones of the study."""
    from .sts_reference import frozen_cosine_pearson

    references = {}
    for backbone, task in dict.fromkeys((job.backbone, job.task) for job in jobs):
        cfg = train_config(next(j for j in jobs if (j.backbone, j.task) == (backbone, task)).overrides)
        if cfg.backbone.family != "encoder" or cfg.backbone.init == "random":  # nothing pretrained to ask
            continue
        from src.data import get_task

        if not get_task(task).is_regression:
            continue
        score = frozen_cosine_pearson(
            task,
            cfg.backbone.pretrained,
            cfg.data.glue_dir,
            cfg.data.max_length,
            cfg.data.get("max_eval_samples"),
        )
        if score is not None:
            references[(backbone, task)] = score
    return references
