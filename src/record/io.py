"""The one writer and the one reader of results.json."""

from __future__ import annotations

import json
from pathlib import Path

from src.atomic import write_json_atomic

from .migrate import migrate
from .schema import RESULTS_FILE, RunRecord


def results_path(run_dir: str | Path) -> Path:
    return Path(run_dir) / RESULTS_FILE


def write_record(run_dir: str | Path, record: RunRecord) -> Path:
    """Atomically: a crash never leaves half a file. NaN/Inf are written as null."""
    return write_json_atomic(results_path(run_dir), record.to_json())


def read_record(run_dir: str | Path) -> RunRecord:
    """The run's results.json, of any layout kronlab ever wrote, as the current record."""
    return RunRecord.from_json(migrate(json.loads(results_path(run_dir).read_text())))
