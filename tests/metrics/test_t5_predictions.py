"""How T5's outputs become predictions: the STS-B number parser, ``backbone.predict: generate | score``, and
what a run records about them, on a tiny random T5 (whose generations are garbage) and real GLUE rows."""

from __future__ import annotations

import json
import math

import pytest
import torch
from sklearn.metrics import accuracy_score

from src.backbones import BackboneError
from src.backbones.t5 import WRONG_SCORE, parse_score
from src.data.tasks import get_task
from src.record import RESULTS_FILE
from src.training.metrics import build_metrics, finish
from tests.conftest import QUICK, built_datamodule, built_model, compose_config

PARSED = {"3.4": 3.4, "0": 0.0, "5.0": 5.0, "5": 5.0, "0.2": 0.2, "12.25": 12.25, "-0.4": -0.4}
EVAL_ROWS = 4  # QUICK: trainer=debug evaluates one batch of data.eval_batch_size=4
WRONG = ["inf", "-inf", "nan", "NaN", "1e9", "1E2", "1_0", " 3", "3 ", "3.", ".5", "+3", "3,4", ""]
WRONG += ["three", "٣", "3.4.1", "3.4 3.4"]


@pytest.mark.parametrize("text", PARSED)
def test_plain_decimals_parse(text):
    assert parse_score(text) == PARSED[text]


@pytest.mark.parametrize("text", WRONG)
def test_anything_else_is_the_wrong_score(text):
    assert parse_score(text) == WRONG_SCORE


def first_eval_batch(backbone, *overrides: str) -> dict[str, torch.Tensor]:
    cfg = compose_config([*QUICK, "data.eval_batch_size=8", *overrides])
    datamodule = built_datamodule(cfg, backbone)
    datamodule.setup("validate")
    return next(iter(datamodule.val_dataloader()))


@pytest.fixture(scope="module")
def rte_t5():
    """A tiny random T5 on RTE and a batch of 8 real dev pairs."""
    overrides = ("backbone=tiny_t5", "task=rte", "adapter=lora")
    backbone = built_model(compose_config(overrides)).eval()
    return backbone, first_eval_batch(backbone, *overrides)


def test_generate_counts_a_non_label_word_wrong(rte_t5):
    backbone, batch = rte_t5
    assert backbone.prediction == "generate"  # the tiny_t5 default, as for t5_base
    with torch.no_grad():
        texts = backbone._generate(batch)
        predictions = backbone.predict(batch)
    task = get_task("rte")
    non_label = [t not in task.verbalizers for t in texts]
    assert any(non_label), f"a random model should generate garbage, got {texts}"
    assert predictions.tolist() == [task.verbalizers.index(t) if t in task.verbalizers else 2 for t in texts]
    metrics = build_metrics(task)
    metrics.update(predictions, batch["label"])
    labels = batch["label"].tolist()
    accuracy = finish(task, metrics.compute())["accuracy"]
    assert accuracy == pytest.approx(accuracy_score(labels, predictions.tolist()))
    assert accuracy <= 1 - sum(non_label) / len(texts)


def test_score_ranks_the_label_words_and_never_misses(rte_t5):
    backbone, batch = rte_t5
    backbone.prediction = "score"
    try:
        with torch.no_grad():
            predictions = backbone.predict(batch)
    finally:
        backbone.prediction = "generate"
    assert set(predictions.tolist()) <= {0, 1}


def test_stsb_score_mode_picks_a_target_on_the_grid():
    overrides = ("backbone=tiny_t5", "backbone.predict=score", "task=stsb", "adapter=lora")
    backbone = built_model(compose_config(overrides)).eval()
    with torch.no_grad():
        scores = backbone.predict(first_eval_batch(backbone, *overrides))
    assert all(0.0 <= s <= 5.0 and math.isclose(s * 5, round(s * 5), abs_tol=1e-4) for s in scores.tolist())


def test_a_run_records_its_protocol_and_how_many_outputs_were_no_label(run_quick):
    results = run_quick("backbone=tiny_t5", "task=rte", "adapter=lora")
    prediction = results["prediction"]
    assert prediction["protocol"] == "generate"
    assert set(prediction["non_label_predictions"]) == {"validation", "test"}
    for stage, count in prediction["non_label_predictions"].items():
        assert 0 < count <= EVAL_ROWS, f"{stage}: the random model's garbage should be counted"
        assert results["metrics"][stage]["accuracy"] <= 1 - count / EVAL_ROWS


def test_constant_garbage_on_stsb_is_undefined_and_written_as_null(run_quick, tmp_path):
    """Every output of the random model is no number: a constant prediction, so both correlations are NaN."""
    run_quick("backbone=tiny_t5", "task=stsb", "adapter=lora")
    text = (tmp_path / "run" / RESULTS_FILE).read_text()
    results = json.loads(text, parse_constant=lambda name: pytest.fail(f"results.json holds {name}"))
    assert results["prediction"]["non_label_predictions"] == {"validation": EVAL_ROWS, "test": EVAL_ROWS}
    for stage in ("validation", "test"):
        assert results["metrics"][stage] == {"pearson": None, "spearman": None, "pearson_spearman_mean": None}
        assert results["undefined_metrics"][stage] == ["pearson", "spearman", "pearson_spearman_mean"]
    assert "undefined" in results["undefined_metrics"]["note"]


def test_predict_is_checked_before_any_work():
    with pytest.raises(BackboneError, match="backbone.predict='sample'.*'generate'.*'score'"):
        built_model(compose_config(["backbone=tiny_t5", "backbone.predict=sample"]))
    with pytest.raises(BackboneError, match="text-to-text"):
        built_model(
            compose_config(["backbone=tiny_bert", "backbone.predict=generate"])
        )  # a typed setting: no +
