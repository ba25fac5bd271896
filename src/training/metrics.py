"""GLUE metrics from torchmetrics, by the names in the task table, defined as scikit-learn / scipy define them.

Classification predictions may hold ``task.non_label`` (a class index no label has: T5 generated a word
that is no label word). Every metric counts it wrong, as the T5 / Compacter evaluation code did:
accuracy and Matthews correlation see it as one more class (scikit-learn on the raw predictions), F1
turns it into the opposite of its target (T5's ``f1_score_with_invalid``).
"""

from __future__ import annotations

import math

import torch
from torchmetrics import Metric, MetricCollection
from torchmetrics.classification import BinaryF1Score, MulticlassAccuracy, MulticlassMatthewsCorrCoef
from torchmetrics.regression import PearsonCorrCoef, SpearmanCorrCoef
from torchmetrics.utilities import dim_zero_cat

from src.data import GlueTask

DERIVED = {"pearson_spearman_mean": ("pearson", "spearman")}


class F1NonLabelWrong(BinaryF1Score):
    """Binary F1 of class 1; a prediction that is neither 0 nor 1 becomes the opposite of its target."""

    def update(self, preds: torch.Tensor, target: torch.Tensor) -> None:
        non_label = (preds != 0) & (preds != 1)
        super().update(torch.where(non_label, 1 - target, preds), target)


class SpearmanUndefinedWhenConstant(SpearmanCorrCoef):
    """Spearman correlation, NaN when either side is constant (scipy's ``spearmanr``).

    torchmetrics adds an epsilon to the denominator, which turns the undefined 0/0 into 0.0.
    """

    def compute(self) -> torch.Tensor:
        preds, target = dim_zero_cat(self.preds), dim_zero_cat(self.target)
        if preds.unique().numel() < 2 or target.unique().numel() < 2:
            return torch.tensor(float("nan"), device=preds.device)
        return super().compute()


def _classification(name: str, num_classes: int) -> Metric:
    # num_classes + 1: the non-label class. It also routes binary tasks through torchmetrics' multiclass
    # Matthews reduction, which is scikit-learn's (0 when either side is constant); its binary reduction
    # (torchmetrics 1.x) returns limit values instead: +0.0256 for an always-"acceptable" model on CoLA
    # dev, 1.0 when labels and predictions are all one class.
    with_non_label = num_classes + 1
    if name == "accuracy":
        return MulticlassAccuracy(num_classes=with_non_label, average="micro")
    if name == "f1":
        return F1NonLabelWrong()
    if name == "matthews":
        return MulticlassMatthewsCorrCoef(num_classes=with_non_label)
    raise ValueError(f"unknown classification metric {name!r}")


def build_metrics(task: GlueTask) -> MetricCollection:
    names = [n for n in task.metric_names if n not in DERIVED]
    for parts in (DERIVED[n] for n in task.metric_names if n in DERIVED):
        names += [p for p in parts if p not in names]
    if task.is_regression:
        makers = {"pearson": PearsonCorrCoef, "spearman": SpearmanUndefinedWhenConstant}
        return MetricCollection({n: makers[n]() for n in names})
    return MetricCollection({n: _classification(n, task.num_labels) for n in names})


def finish(task: GlueTask, values: dict[str, torch.Tensor]) -> dict[str, float]:
    """Plain floats in the task's metric order, derived metrics included (NaN where undefined)."""
    out = {k: float(v) for k, v in values.items()}
    for name, (a, b) in DERIVED.items():
        if name in task.metric_names:
            out[name] = (out[a] + out[b]) / 2
    return {n: out[n] for n in task.metric_names} | {
        k: v for k, v in out.items() if k not in task.metric_names
    }


def undefined(values: dict[str, float]) -> list[str]:
    """The metrics that are NaN: correlations of a constant prediction or target (SPEC §4)."""
    return [name for name, value in values.items() if math.isnan(value)]
