"""After fitting, rows are scored once: under the glue protocol the test set is the validation set, so the test pass
(on the merged weights it tests) stands for both; under a protocol whose test rows differ, both passes run."""

from __future__ import annotations

import lightning as L
import pytest


@pytest.fixture
def passes(monkeypatch) -> dict[str, int]:
    counted = {"validate": 0, "test": 0}
    for name in counted:
        original = getattr(L.Trainer, name)

        def counting(self, *args, _name=name, _original=original, **kwargs):
            counted[_name] += 1
            return _original(self, *args, **kwargs)

        monkeypatch.setattr(L.Trainer, name, counting)
    return counted


def test_the_same_rows_are_scored_once_and_reported_for_both(run_quick, passes):
    results = run_quick("backbone=tiny_bert", "adapter=lora", "task=rte")
    assert passes == {"validate": 0, "test": 1}
    assert results["metrics"]["validation"] == results["metrics"]["test"]
    assert "scored once" in results["prediction"]["validation_scores"]


def test_different_test_rows_get_their_own_pass(run_quick, passes):
    results = run_quick("backbone=tiny_bert", "adapter=lora", "task=rte", "data.split_protocol=compacter")
    assert passes == {"validate": 1, "test": 1}
    assert "validation_scores" not in results["prediction"]
