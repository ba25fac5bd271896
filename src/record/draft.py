"""A run's record while the run goes on: each part is handed to it by whoever measured it, and it
becomes one RunRecord when the run ends, finished or not (a failed run keeps what it had measured)."""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

from .failure import outcome_of
from .schema import RunRecord, Scores, Status


class RecordDraft:
    def __init__(self) -> None:
        self._started = time.perf_counter()
        self._fields: dict[str, Any] = {}
        self._sections: dict[str, Any] = {}

    def describe(self, config: dict[str, Any], versions: dict[str, str | None]) -> None:
        self._fields |= {"config": config, "versions": versions}

    def add_sections(self, sections: Mapping[str, Any]) -> None:
        self._sections |= sections

    def scored(self, metrics: Mapping[str, Scores]) -> None:
        self._fields["metrics"] = dict(metrics)

    def evaluated(self, checkpoint: str | None) -> None:
        """The test scored ``checkpoint`` (the best one when the run trained; None: the weights in memory)."""
        self._fields |= {"best_checkpoint": checkpoint, "evaluated_checkpoint": checkpoint}

    def finished(self) -> RunRecord:
        return self._record(Status.FINISHED)

    def stopped_by(self, error: BaseException) -> RunRecord:
        status, failure = outcome_of(error)
        return self._record(status, error=failure)

    def _record(self, status: Status, **more: Any) -> RunRecord:
        return RunRecord(
            status,
            **self._fields,
            **more,
            sections=dict(self._sections),
            wall_time_s=time.perf_counter() - self._started,
        )
