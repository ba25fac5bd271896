"""GLUE metrics from torchmetrics, by the names in the task table."""

from __future__ import annotations

import torch
from torchmetrics import Metric, MetricCollection
from torchmetrics.classification import Accuracy, BinaryF1Score, MatthewsCorrCoef
from torchmetrics.regression import PearsonCorrCoef, SpearmanCorrCoef

from src.data import GlueTask

DERIVED = {"pearson_spearman_mean": ("pearson", "spearman")}


def _classification(name: str, num_classes: int) -> Metric:
    task = "binary" if num_classes == 2 else "multiclass"
    if name == "accuracy":
        return Accuracy(task=task, num_classes=num_classes)
    if name == "f1":
        return BinaryF1Score()
    if name == "matthews":
        return MatthewsCorrCoef(task=task, num_classes=num_classes)
    raise ValueError(f"unknown classification metric {name!r}")


def build_metrics(task: GlueTask) -> MetricCollection:
    names = [n for n in task.metric_names if n not in DERIVED]
    for parts in (DERIVED[n] for n in task.metric_names if n in DERIVED):
        names += [p for p in parts if p not in names]
    if task.is_regression:
        makers = {"pearson": PearsonCorrCoef, "spearman": SpearmanCorrCoef}
        return MetricCollection({n: makers[n]() for n in names})
    return MetricCollection({n: _classification(n, task.num_labels) for n in names})


def finish(task: GlueTask, values: dict[str, torch.Tensor]) -> dict[str, float]:
    """Plain floats in the task's metric order, derived metrics included."""
    out = {k: float(v) for k, v in values.items()}
    for name, (a, b) in DERIVED.items():
        if name in task.metric_names:
            out[name] = (out[a] + out[b]) / 2
    return {n: out[n] for n in task.metric_names} | {k: v for k, v in out.items() if k not in task.metric_names}
