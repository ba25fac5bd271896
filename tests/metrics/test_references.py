"""kronlab's GLUE metrics against scikit-learn and scipy, on random and degenerate inputs and on real CoLA dev."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
import torch
from scipy.stats import ConstantInputWarning, pearsonr, spearmanr
from sklearn.metrics import accuracy_score, f1_score, matthews_corrcoef

from src.data.readers import read_local
from src.data.tasks import get_task
from src.training.metrics import build_metrics, finish, undefined
from tests.conftest import GLUE_DIR

BINARY = {"mrpc": ("f1", "accuracy"), "cola": ("matthews",)}


def ours(task_name: str, preds, labels, batches: int = 1) -> dict[str, float]:
    """Metrics as a run computes them: updated batch by batch, then finished."""
    task = get_task(task_name)
    metrics = build_metrics(task)
    for p, y in zip(
        np.array_split(np.asarray(preds), batches), np.array_split(np.asarray(labels), batches), strict=True
    ):
        metrics.update(torch.as_tensor(p), torch.as_tensor(y))
    return finish(task, metrics.compute())


def sklearn_binary(preds, labels) -> dict[str, float]:
    """T5's rule for a non-label prediction (here 2): F1 sees the opposite of the target, MCC one more class."""
    preds, labels = np.asarray(preds), np.asarray(labels)
    f1_preds = np.where((preds != 0) & (preds != 1), 1 - labels, preds)
    return {
        "f1": f1_score(labels, f1_preds, zero_division=0.0),
        "accuracy": accuracy_score(labels, preds),
        "matthews": matthews_corrcoef(labels, preds),
    }


def constant(value: int, n: int = 40) -> np.ndarray:
    return np.full(n, value)


MIXED = np.array([0, 1, 1, 0, 1, 1, 1, 0] * 5)
DEGENERATE = {  # (predictions, labels)
    "constant prediction 1": (constant(1), MIXED),
    "constant prediction 0": (constant(0), MIXED),
    "constant labels 1": (MIXED, constant(1)),
    "constant labels 0": (MIXED, constant(0)),
    "both all 1": (constant(1), constant(1)),
    "both all 0": (constant(0), constant(0)),
    "constant and opposite": (constant(0), constant(1)),
    "all non-label": (constant(2), MIXED),
    "non-label on one-class labels": (np.array([1, 2] * 20), constant(1)),
}


@pytest.mark.parametrize("case", DEGENERATE)
def test_binary_metrics_match_sklearn_on_degenerate_inputs(case):
    preds, labels = DEGENERATE[case]
    expected = sklearn_binary(preds, labels)
    for task_name, names in BINARY.items():
        got = ours(task_name, preds, labels, batches=3)
        for name in names:
            assert got[name] == pytest.approx(expected[name], abs=1e-6), (
                case,
                name,
                got[name],
                expected[name],
            )


@pytest.mark.parametrize("seed", range(6))
def test_binary_metrics_match_sklearn_on_random_inputs(seed):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(5, 300))
    labels = rng.integers(0, 2, n)
    preds = np.where(
        rng.random(n) < 0.8, labels, rng.integers(0, 3, n)
    )  # some non-labels (2) when seed allows
    expected = sklearn_binary(preds, labels)
    for task_name, names in BINARY.items():
        got = ours(task_name, preds, labels, batches=4)
        for name in names:
            assert got[name] == pytest.approx(expected[name], abs=1e-6), (seed, name)


@pytest.mark.parametrize("seed", range(3))
def test_three_class_accuracy_counts_a_non_label_wrong(seed):
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 3, 200)
    preds = rng.integers(0, 4, 200)  # 3: no MNLI label
    assert ours("mnli", preds, labels, batches=2)["accuracy"] == pytest.approx(accuracy_score(labels, preds))


def test_cola_dev_always_acceptable_scores_mcc_zero():
    """The issue's case: torchmetrics' binary MCC gave +0.0256 here, scikit-learn gives 0.0."""
    labels = np.array(read_local(get_task("cola"), GLUE_DIR, "validation")["label"])
    assert len(labels) == 1043 and 0 < labels.mean() < 1
    acceptable = get_task("cola").label_names.index("acceptable")
    preds = constant(acceptable, len(labels))
    assert matthews_corrcoef(labels, preds) == 0.0
    assert ours("cola", preds, labels, batches=11)["matthews"] == 0.0


def scipy_correlations(preds, labels) -> dict[str, float]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConstantInputWarning)
        return {"pearson": float(pearsonr(labels, preds)[0]), "spearman": float(spearmanr(labels, preds)[0])}


REGRESSION_RNG = np.random.default_rng(0)
LABELS = REGRESSION_RNG.uniform(0, 5, 60)
REGRESSION_CASES = {
    "constant prediction": (np.full(60, 2.5), LABELS),
    "constant wrong score": (np.full(60, -1.0), LABELS),
    "constant labels": (LABELS, np.full(60, 3.0)),
    "both constant": (np.full(60, 1.0), np.full(60, 1.0)),
    "ties": (np.round(LABELS), LABELS),
    "one different prediction in an STS-B dev's worth": (np.r_[np.full(1499, 2.5), 3.0], LABELS.repeat(25)),
}


@pytest.mark.parametrize("case", REGRESSION_CASES)
def test_correlations_match_scipy_nan_included(case):
    preds, labels = REGRESSION_CASES[case]
    expected = scipy_correlations(preds, labels)
    got = ours("stsb", preds.astype(np.float32), labels.astype(np.float32), batches=3)
    for name, value in expected.items():
        if math.isnan(value):
            assert math.isnan(got[name]), (case, name, got[name])
        else:
            assert got[name] == pytest.approx(value, abs=1e-4), (case, name)
    mean = got["pearson_spearman_mean"]
    assert (
        math.isnan(mean)
        if any(map(math.isnan, expected.values()))
        else mean == pytest.approx(sum(expected.values()) / 2, abs=1e-4)
    )


@pytest.mark.parametrize("seed", range(4))
def test_correlations_match_scipy_on_random_inputs(seed):
    rng = np.random.default_rng(seed)
    labels = rng.uniform(0, 5, 200)
    preds = labels + rng.normal(0, 1 + seed, 200)
    got = ours("stsb", preds.astype(np.float32), labels.astype(np.float32), batches=5)
    for name, value in scipy_correlations(preds, labels).items():
        assert got[name] == pytest.approx(value, abs=1e-4), name


def test_undefined_lists_the_nan_metrics():
    got = ours("stsb", np.full(10, 2.0, dtype=np.float32), np.linspace(0, 5, 10, dtype=np.float32))
    assert undefined(got) == ["pearson", "spearman", "pearson_spearman_mean"]
    assert undefined({"accuracy": 0.5}) == []
