"""A run records how its regression head met the target, and ``src.eval`` scores its checkpoint the same way
(the statistics rebuilt from the run's own training rows)."""

from __future__ import annotations

import pytest

from src.eval import split_arguments
from src.run.evaluate import evaluate
from src.run.fit import run
from tests.conftest import QUICK, compose_config


def test_a_standardised_run_records_its_target_and_evaluates_to_its_own_scores(tmp_path):
    overrides = [*QUICK, "backbone=tiny_bert", "adapter=lora", "task=stsb", "task.regression_target=standardised",
                 "data.max_train_samples=16", "optim.lr=0.01"]  # fmt: skip
    record = run(compose_config(overrides, tmp_path / "run"))
    section = record.section("regression_target")
    assert section["kind"] == record.config["task"]["regression_target"] == "standardised"
    assert 1.0 < section["train_label_mean"] < 4.0 and section["train_label_std"] > 0.5
    settings, rest = split_arguments([f"ckpt_path={record.best_checkpoint}", "split=validation"])
    settings.output = str(tmp_path / "eval.json")
    evaluated = evaluate(settings, rest)
    assert evaluated["regression_target"] == section
    for name, value in record.scores("validation").items():
        assert evaluated["metrics"]["validation"][name] == pytest.approx(value, abs=1e-6)
