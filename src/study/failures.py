"""Runs that did not finish: each attempt's cause, kept in ``<study dir>/failures.json``.

After every launch, a job that started but has no finished run is one failed attempt: its results.json says
why when the run could still write it (an error, a preemption, a full disk); a run that left none was killed
(out of memory, a node that died, SIGKILL) and the launcher's log says the rest. A job the launcher never
started is not an attempt. The next invocation retries a job up to ``study.retries`` more times, resuming
from its last checkpoint, and reports the ones it gave up on; searches re-ask a killed trial's values.
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from src.atomic import write_text_atomic
from src.record import FailureReason, read_record, results_path
from src.run.run_folder import in_use

from .identity import finished
from .jobs import Job
from .settings import StudySettings

FAILURES = "failures.json"
KILLED = "killed"  # the cause's kind when the run left no results.json
NOT_THE_RUNS_FAULT = (KILLED, FailureReason.PREEMPTED.value, FailureReason.DISK_FULL.value)


@dataclass(frozen=True)
class Failure:
    job: Job
    kind: str  # results.json's error.reason (a FailureReason's value) or KILLED
    cause: str


def ledger_path(study: StudySettings) -> Path:
    return Path(study.dir) / FAILURES


def read_ledger(study: StudySettings) -> dict[str, list[dict[str, Any]]]:
    path = ledger_path(study)
    return json.loads(path.read_text()) if path.is_file() else {}


def key(study: StudySettings, job: Job) -> str:
    return str(Path(job.run_dir).resolve().relative_to(Path(study.dir).resolve()))


def attempts_failed(
    study: StudySettings, job: Job, ledger: dict[str, list[dict[str, Any]]] | None = None
) -> int:
    return len((read_ledger(study) if ledger is None else ledger).get(key(study, job), []))


def given_up(study: StudySettings, jobs: Sequence[Job]) -> list[Job]:
    """Jobs that failed ``1 + study.retries`` times: not launched again."""
    ledger = read_ledger(study)
    return [job for job in jobs if attempts_failed(study, job, ledger) > study.retries]


def failure_of(job: Job, since: float, launcher_said: str) -> Failure | None:
    """Why ``job`` did not finish in the launch that began at ``since``; None if it finished or never started."""
    run_dir = Path(job.run_dir)
    results_file = results_path(run_dir)
    if results_file.is_file() and results_file.stat().st_mtime >= since:
        record = read_record(run_dir)
        if record.finished:
            return None
        error = record.error
        if error is None:
            return Failure(job, FailureReason.EXCEPTION.value, f"{record.status.value} without an error")
        return Failure(job, error.reason.value, f"{error.type}: {error.message}")
    started = run_dir / ".hydra" / "config.yaml"
    if not (started.is_file() and started.stat().st_mtime >= since) or in_use(run_dir):
        return None  # never started here, or another worker of the study has it
    return Failure(
        job,
        KILLED,
        f"ended without writing results.json (killed: out of memory, a dead node?); {launcher_said}",
    )


def record(study: StudySettings, failures: Sequence[Failure], log_file: Path) -> None:
    if not failures:
        return
    ledger = read_ledger(study)
    at = time.strftime("%Y-%m-%dT%H:%M:%S")
    for failure in failures:
        ledger.setdefault(key(study, failure.job), []).append(
            {"kind": failure.kind, "cause": failure.cause, "at": at, "launch_log": str(log_file.name)}
        )
    write_text_atomic(ledger_path(study), json.dumps(ledger, indent=1))


def summary_line(study: StudySettings, jobs: Sequence[Job]) -> str | None:
    """One line on the jobs of this invocation that are not finished, or None when all are."""
    ledger = read_ledger(study)
    unfinished = [job for job in jobs if not is_finished(job)]
    if not unfinished:
        return None
    out = [job for job in unfinished if attempts_failed(study, job, ledger) > study.retries]
    first = unfinished[0]
    last = (ledger.get(key(study, first)) or [{"cause": "not run"}])[-1]["cause"]
    return (
        f"{len(unfinished)} run(s) did not finish ({len(out)} given up after {1 + study.retries} attempts), "
        f"e.g. {key(study, first)}: {last}. Causes: {ledger_path(study)}; the same command retries the others."
    )


def is_finished(job: Job) -> bool:
    return finished(Path(job.run_dir), job.identity) is not None


def interrupted(study: StudySettings, jobs: Sequence[Job]) -> bool:
    """Whether a trial without a score was stopped from outside (killed, preempted, a full disk, or never
    started because the launcher went down with a sibling): a search asks it again with the same values,
    unless one of its runs failed on its own (an error, a NaN) or used up its attempts."""
    ledger = read_ledger(study)
    unfinished = [job for job in jobs if not is_finished(job)]
    for job in unfinished:
        history = ledger.get(key(study, job), [])
        if history and (history[-1]["kind"] not in NOT_THE_RUNS_FAULT or len(history) > study.retries):
            return False
    return bool(unfinished)
