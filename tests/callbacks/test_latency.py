"""The latency callback's measurement: positive times, ratio near 1 when merged, the model left as it was."""

from __future__ import annotations

import pytest
import torch

from src.adapters import adapters_of
from src.callbacks import LatencySettings, measure_latency
from tests.conftest import built_model

SHORT = LatencySettings(warmup=3, iters=10, repeats=3)


def test_merged_krona_costs_about_the_same_as_the_bare_backbone(make_config):
    built = built_model(make_config("backbone=tiny_bert", "adapter=krona"))
    built.model.train()
    result = measure_latency(built, SHORT, torch.device("cpu"))
    assert result["ms"] > 0 and result["base_ms"] > 0
    assert result["merged"] and result["not_merged"] == []
    assert 0.5 < result["ratio"] < 2.0  # CPU timing on a shared machine: generous
    assert len(result["ms_per_repeat"]) == len(result["base_ms_per_repeat"]) == SHORT.repeats
    assert result["settings"]["iters"] == SHORT.iters
    assert built.model.training  # mode restored
    assert not any(a.merged for a in adapters_of(built.model))  # merged only while timing


def test_a_non_mergeable_method_is_timed_unmerged(make_config):
    built = built_model(make_config("backbone=tiny_bert", "adapter=krona_b"))
    result = measure_latency(built, SHORT, torch.device("cpu"))
    assert not result["merged"] and result["not_merged"] == ["krona_b"]
    assert result["ms"] > 0 and result["base_ms"] > 0


@pytest.mark.parametrize("field", ["batch_size", "seq_len", "iters", "repeats"])
def test_settings_below_one_are_refused(field):
    with pytest.raises(ValueError, match=f"callbacks.latency.{field}"):
        LatencySettings(**{field: 0})
