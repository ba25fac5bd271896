"""Every results.json layout kronlab ever wrote reads as the current record.

``layouts/`` holds real files (run directories' paths shortened), each written by ``python -m src.train
backbone=tiny_bert task=rte adapter=krona trainer=debug ...`` at the commit its name dates:
layout0-2026-11-22-finished (4236aa5: no status, latency without protocol or spread, step time without
quartiles, no evaluated checkpoint), layout0-2026-11-30-failed (5c61deb: an error and no status),
layout0-2026-11-30-finished (fbf9b79: the last layout without status), layout1-finished (a cpu study run,
bench/results/studies/cpu/runs/minilm-sst2-adakron-seed1), layout1-refused-before-training (optim.lr=-1),
layout1-refused-merge-mismatch (adapter=full optim.lr=1e30: the merge check refused the NaN weights).
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from src.config import ROOT
from src.record import SCHEMA_VERSION, FailureReason, RunRecord, Status, migrate, read_record, write_record

LAYOUTS = Path(__file__).parent / "layouts"


def read_layout(name: str, tmp_path: Path) -> RunRecord:
    shutil.copy(LAYOUTS / f"{name}.json", tmp_path / "results.json")
    return read_record(tmp_path)


def raw(name: str) -> dict:
    return json.loads((LAYOUTS / f"{name}.json").read_text())


def test_the_first_layout_gets_a_status_and_the_section_fields_added_since(tmp_path):
    record = read_layout("layout0-2026-11-22-finished", tmp_path)
    assert record.status is Status.FINISHED and record.error is None
    assert record.metrics == raw("layout0-2026-11-22-finished")["metrics"]
    latency = record.section("latency")
    assert latency["protocol"] == "custom"  # warm-up 1, 3 forwards: not the paper's counts
    assert latency["ratio_min"] == latency["ratio_max"] == latency["ratio"]
    speed = record.section("train_speed")
    assert speed["step_ms_p25"] == speed["step_ms_p75"] == speed["step_ms"]
    assert record.evaluated_checkpoint == record.best_checkpoint == "/runs/old/checkpoints/epoch00-step1.ckpt"


def test_a_failed_run_without_status_is_failed_with_its_reason_unrecorded(tmp_path):
    record = read_layout("layout0-2026-11-30-failed", tmp_path)
    assert record.status is Status.FAILED
    assert record.error.type == "BackboneError" and "bert-base-uncased" in record.error.message
    assert record.error.reason is FailureReason.UNRECORDED


def test_the_last_layout_without_status_keeps_its_own_section_fields(tmp_path):
    record = read_layout("layout0-2026-11-30-finished", tmp_path)
    before = raw("layout0-2026-11-30-finished")
    assert record.status is Status.FINISHED
    assert (
        record.section("latency") == before["latency"]
        and record.section("train_speed") == before["train_speed"]
    )
    assert record.section("prediction") == {"protocol": "head"}


def test_a_layout_1_run_reads_unchanged_but_for_the_version(tmp_path):
    record = read_layout("layout1-finished", tmp_path)
    before = raw("layout1-finished")
    assert record.schema_version == SCHEMA_VERSION
    assert record.to_json() == {"schema_version": SCHEMA_VERSION, **before} | {
        "best_checkpoint": None,
        "evaluated_checkpoint": None,
    }


@pytest.mark.parametrize(
    ("name", "error_type"),
    [
        ("layout1-refused-before-training", "ConfigError"),
        ("layout1-refused-merge-mismatch", "MergeMismatchError"),
    ],
)
def test_a_refused_layout_1_run_is_a_user_error(name, error_type, tmp_path):
    record = read_layout(name, tmp_path)
    assert record.status is Status.REFUSED and not record.metrics
    assert record.error.type == error_type and record.error.reason is FailureReason.USER_ERROR


def test_a_diverged_layout_1_run_says_so():
    failed = {"status": "failed", "error": {"type": "NumericsError", "message": "NaN loss at step 3"}}
    assert RunRecord.from_json(migrate(failed)).error.reason is FailureReason.DIVERGED


def test_the_current_layout_round_trips_and_migrates_to_itself(tmp_path):
    record = read_layout("layout1-finished", tmp_path)
    (tmp_path / "again").mkdir()
    write_record(tmp_path / "again", record)
    assert read_record(tmp_path / "again") == record
    current = json.loads((tmp_path / "again" / "results.json").read_text())
    assert migrate(current) == current


def test_a_newer_layout_is_refused_with_the_fix():
    with pytest.raises(ValueError, match="update kronlab"):
        migrate({"schema_version": SCHEMA_VERSION + 1, "status": "finished"})


def test_every_committed_results_json_reads():
    files = sorted((ROOT / "bench" / "results").rglob("results.json"))
    assert len(files) > 200  # the cpu study's runs and searches
    for path in files:
        assert read_record(path.parent).status in Status, path
