"""``task.regression_target``: how a regression head meets STS-B's scores. The statistics come from the training
rows the run trains on; standardised predictions are an affine map of the head's outputs, so they score the raw
protocol's Pearson and Spearman for the same outputs; head_bias starts the head's output bias at the mean."""

from __future__ import annotations

import copy
import csv

import pytest
import torch

from src.backbones.encoder import output_layer
from src.data import get_task
from src.data.datamodule import read_splits
from src.data.regression_target import RegressionTarget
from src.errors import ConfigError
from src.run.build import regression_target
from src.schema import check_config
from src.training.metrics import build_metrics, finish
from tests.conftest import GLUE_DIR, built_model, compose_config

STSB = get_task("stsb")


def first_scores(rows: int) -> list[float]:
    """The first training scores of STS-B's TSV, read here with the csv module, not through src.data."""
    with open(GLUE_DIR / "STS-B" / "train.tsv", newline="") as handle:
        reader = csv.reader(handle, delimiter="\t", quoting=csv.QUOTE_NONE)
        header = next(reader)
        return [float(row[header.index("score")]) for _, row in zip(range(rows), reader, strict=False)]


def test_the_statistics_are_those_of_the_training_rows_the_run_uses():
    cfg = compose_config(["task=stsb", "task.regression_target=standardised", "data.max_train_samples=500"])
    target = regression_target(cfg, STSB, read_splits(STSB, glue_dir=GLUE_DIR))
    expected = torch.tensor(first_scores(500), dtype=torch.float64)
    assert target.kind == "standardised"
    assert target.mean == pytest.approx(expected.mean().item(), abs=1e-6)
    assert target.std == pytest.approx(expected.std().item(), abs=1e-6)
    assert target.record() == {
        "kind": "standardised",
        "train_label_mean": target.mean,
        "train_label_std": target.std,
    }


def test_a_classification_task_has_no_regression_target():
    cfg = compose_config(["task=sst2"])
    assert regression_target(cfg, get_task("sst2"), {"train": None}) is None


@pytest.fixture(scope="module")
def stsb_bert():
    torch.manual_seed(0)
    return built_model(compose_config(["backbone=tiny_bert", "backbone.config.vocab_size=1000", "task=stsb"]))


def scores_batch() -> dict[str, torch.Tensor]:
    generator = torch.Generator().manual_seed(3)
    ids = torch.randint(5, 1000, (6, 9), generator=generator)
    labels = torch.tensor([0.0, 1.2, 2.5, 3.1, 4.4, 5.0])
    return {"input_ids": ids, "attention_mask": torch.ones_like(ids), "labels": labels}


def metric_values(predictions: torch.Tensor, labels: torch.Tensor) -> dict[str, float]:
    metrics = build_metrics(STSB)
    metrics.update(predictions, labels)
    return finish(STSB, metrics.compute())


def test_standardised_predictions_are_the_raw_outputs_mapped_back_and_score_the_same(stsb_bert):
    batch = scores_batch()
    target = RegressionTarget("standardised", mean=2.7, std=1.4)
    standardised = copy.deepcopy(stsb_bert)
    standardised.use_regression_target(target)
    stsb_bert.eval(), standardised.eval()
    with torch.no_grad():
        outputs = stsb_bert.predict(batch)  # raw: the head's outputs as they are
        loss, predictions = standardised.loss_and_predictions(batch)
    torch.testing.assert_close(predictions, outputs * 1.4 + 2.7)
    torch.testing.assert_close(loss, torch.nn.functional.mse_loss(outputs, (batch["labels"] - 2.7) / 1.4))
    raw_scores, mapped_scores = (
        metric_values(outputs, batch["labels"]),
        metric_values(predictions, batch["labels"]),
    )
    assert raw_scores.keys() == {"pearson", "spearman", "pearson_spearman_mean"}
    for name, value in raw_scores.items():
        assert mapped_scores[name] == pytest.approx(value, abs=1e-5)


@pytest.mark.parametrize("family", ["bert", "deberta", "electra"])
def test_head_bias_moves_every_prediction_to_start_from_the_mean(family):
    torch.manual_seed(0)
    cfg = compose_config([f"backbone=tiny_{family}", "backbone.config.vocab_size=1000", "task=stsb"])
    backbone = built_model(cfg)
    backbone.eval()
    batch = scores_batch()
    before = backbone.predict(batch).detach()
    start = output_layer(backbone.model).bias.item()
    backbone.use_regression_target(RegressionTarget("head_bias", mean=2.7, std=1.4))
    assert output_layer(backbone.model).bias.item() == pytest.approx(2.7)
    torch.testing.assert_close(backbone.predict(batch).detach(), before + (2.7 - start))
    loss = backbone.loss(batch)  # the raw labels: head_bias changes where the head starts, not what it learns
    torch.testing.assert_close(loss, torch.nn.functional.mse_loss(backbone.predict(batch), batch["labels"]))


@pytest.mark.parametrize(
    ("overrides", "says"),
    [
        (["task=sst2", "task.regression_target=standardised"], "sst2 is classification: drop the setting"),
        (
            ["backbone=tiny_t5", "task=stsb", "task.regression_target=standardised"],
            "the t5 family takes ['raw']",
        ),
        (
            ["backbone=tiny_gpt2", "task=stsb", "task.regression_target=head_bias"],
            "takes ['raw', 'standardised']",
        ),
        (["task=stsb", "task.regression_target=zscore"], "regression_target"),
    ],
)
def test_a_target_the_task_or_head_cannot_take_is_refused_before_any_work(make_config, overrides, says):
    with pytest.raises(ConfigError) as refused:
        check_config(make_config(*overrides))
    assert says in str(refused.value)
    assert "\n" not in str(refused.value)


def test_a_decoder_takes_standardised_targets(make_config):
    cfg = make_config("backbone=tiny_gpt2", "task=stsb", "task.regression_target=standardised")
    assert check_config(cfg) is STSB
