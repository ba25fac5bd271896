"""A study's report says, per regression task, which ``task.regression_target`` its runs trained under; runs from
before the setting trained raw, and a classification run has none."""

from __future__ import annotations

import dataclasses

from src.config import ROOT
from src.record import read_record
from src.study.aggregate import regression_notes, regression_target_of

RUNS = ROOT / "bench" / "results" / "studies" / "cpu" / "runs"


def test_runs_from_before_the_setting_read_as_raw_and_classification_has_none():
    old_stsb = read_record(RUNS / "minilm-stsb-lora-seed1")
    assert "regression_target" not in old_stsb.sections and "regression_target" not in old_stsb.config["task"]
    assert regression_target_of(old_stsb) == "raw"
    assert regression_target_of(read_record(RUNS / "minilm-sst2-lora-seed1")) is None


def test_the_recorded_target_is_the_one_reported():
    old = read_record(RUNS / "minilm-stsb-lora-seed1")
    config = {**old.config, "task": {**old.config["task"], "regression_target": "standardised"}}
    new = dataclasses.replace(
        old, config=config, sections={**old.sections, "regression_target": {"kind": "standardised"}}
    )
    assert regression_target_of(new) == "standardised"
    notes = regression_notes([
        {"task": "stsb", "regression_target": "standardised"},
        {"task": "stsb", "regression_target": "raw"},
        {"task": "sst2", "regression_target": None},
    ])  # fmt: skip
    (note,) = notes
    assert note.startswith("regression target on stsb: raw, standardised (raw: the papers' protocol")
    assert "z-scored by the training rows' mean and deviation" in note
