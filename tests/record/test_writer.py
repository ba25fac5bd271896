"""The one writer: a run's parts become one record, its outcome a status and a typed reason."""

from __future__ import annotations

import json

import pytest

from src.errors import ConfigError, NumericsError
from src.record import FailureReason, RecordDraft, Status, read_record, write_record


@pytest.mark.parametrize(
    ("error", "status", "reason"),
    [
        (ConfigError("optim.lr=-1"), Status.REFUSED, FailureReason.USER_ERROR),
        (NumericsError("NaN loss at step 3"), Status.FAILED, FailureReason.DIVERGED),
        (RuntimeError("CUDA error: an illegal memory access"), Status.FAILED, FailureReason.EXCEPTION),
    ],
)
def test_the_error_that_stopped_a_run_gives_its_status_and_reason(error, status, reason):
    record = RecordDraft().stopped_by(error)
    assert (record.status, record.error.reason) == (status, reason)
    assert record.error.type == type(error).__name__ and record.error.message == str(error)


def test_a_failed_run_keeps_what_it_had_measured():
    draft = RecordDraft()
    draft.describe({"seed": 1}, {"torch": "2"})
    draft.add_sections({"params": {"trainable": 10}})
    record = draft.stopped_by(RuntimeError("killed"))
    assert record.section("params") == {"trainable": 10} and record.config == {"seed": 1}
    assert record.wall_time_s >= 0


def test_sections_sit_beside_the_record_fields_and_nan_is_written_as_null(tmp_path):
    draft = RecordDraft()
    draft.scored({"validation": {"pearson": float("nan"), "spearman": 0.5}})
    draft.add_sections({"latency": {"ratio": 1.1}})
    write_record(tmp_path, draft.finished())
    text = (tmp_path / "results.json").read_text()
    written = json.loads(text, parse_constant=lambda name: pytest.fail(f"results.json holds {name}"))
    assert written["latency"] == {"ratio": 1.1} and written["status"] == "finished"
    assert read_record(tmp_path).scores("validation") == {"pearson": None, "spearman": 0.5}
