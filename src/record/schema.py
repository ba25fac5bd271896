"""The run record: what one run wrote to its results.json, as one typed, versioned value.

On disk the sections (``params``, ``param_table``, ``merge``, ``latency``, ``train_speed``, ``prediction``,
``regression_target``, ``undefined_metrics``) sit at the top level beside the record's own fields, so a results.json reads as it
always has; ``schema_version`` says which layout a file has (none: one older than this module).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from enum import StrEnum
from typing import Any

SCHEMA_VERSION = 2
RESULTS_FILE = "results.json"

Scores = dict[str, float | None]  # metric name -> value; None: undefined (a correlation of a constant)


class Status(StrEnum):
    """A complete run; one stopped by an error while or after training; one refused before training
    (a setting, a data file), which is not a run and which src.report leaves out."""

    FINISHED = "finished"
    FAILED = "failed"
    REFUSED = "refused"


class FailureReason(StrEnum):
    """Why a run did not finish, as a program can tell it apart (the message says it to a person)."""

    USER_ERROR = "user_error"  # the project's own error: a setting, a file, a model, a merge that drifted
    DIVERGED = "diverged"  # a NaN/Inf loss while training
    PREEMPTED = "preempted"  # stopped by a signal (a scheduler's preemption): the same command resumes it
    DISK_FULL = "disk_full"  # no space or quota left while writing: the same command resumes once there is
    EXCEPTION = "exception"  # anything else: a bug or a crash, with its traceback in the log
    UNRECORDED = "unrecorded"  # a file from before results.json had a status: only the message says


@dataclass(frozen=True)
class Failure:
    reason: FailureReason
    type: str  # the exception's class name
    message: str

    def to_json(self) -> dict[str, str]:
        return {"type": self.type, "message": self.message, "reason": self.reason.value}

    @classmethod
    def from_json(cls, raw: Mapping[str, Any]) -> Failure:
        return cls(FailureReason(raw["reason"]), raw["type"], raw["message"])


@dataclass(frozen=True)
class RunRecord:
    status: Status
    config: dict[str, Any] = field(default_factory=dict)  # the resolved config the run was built from
    metrics: dict[str, Scores] = field(default_factory=dict)  # per split: validation, test
    sections: dict[str, Any] = field(default_factory=dict)  # per measurement, as its measurer returned it
    versions: dict[str, str | None] = field(default_factory=dict)
    error: Failure | None = None
    best_checkpoint: str | None = None
    evaluated_checkpoint: str | None = None  # None: the weights in memory (untrained with train=false)
    wall_time_s: float | None = None
    schema_version: int = SCHEMA_VERSION

    @property
    def finished(self) -> bool:
        return self.status is Status.FINISHED

    def section(self, name: str) -> dict[str, Any]:
        """One section, empty when the run did not measure it."""
        return self.sections.get(name) or {}

    def scores(self, split: str) -> Scores:
        return self.metrics.get(split) or {}

    def primary_validation(self) -> float | None:
        """The task's primary validation metric: the first one, as the module writes them."""
        return next(iter(self.scores("validation").values()), None)

    def to_json(self) -> dict[str, Any]:
        own = {f.name: getattr(self, f.name) for f in fields(self) if f.name not in ("sections", "error")}
        own["status"] = self.status.value
        if self.error is not None:
            own["error"] = self.error.to_json()
        return {"schema_version": own.pop("schema_version"), **own, **self.sections}

    @classmethod
    def from_json(cls, raw: Mapping[str, Any]) -> RunRecord:
        """A record from a results.json of this layout (``migrate`` brings older ones here first)."""
        if raw.get("schema_version") != SCHEMA_VERSION:
            raise ValueError(f"schema_version {raw.get('schema_version')}: expected {SCHEMA_VERSION}")
        own = {f.name for f in fields(cls)} - {"sections"}
        values = {k: v for k, v in raw.items() if k in own}
        values["status"] = Status(raw["status"])
        values["error"] = Failure.from_json(raw["error"]) if raw.get("error") else None
        return cls(**values, sections={k: v for k, v in raw.items() if k not in own})
