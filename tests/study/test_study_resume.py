"""A study killed with SIGKILL (the study and every process it started, as when a node dies), once during
the search and once during the seed runs, finishes when the same command is run again, with the report of
the uninterrupted study, and no run that had finished is run again."""

from __future__ import annotations

import json
import os
import signal
import time
from pathlib import Path

import pytest

from src.record import RESULTS_FILE

from .helpers import report_of, start_study, study_cli, summary, trials_of

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("smoke_study")]


def started(folder: Path) -> bool:
    return folder.exists() and any(folder.rglob(".hydra"))


def finished_runs(study_dir: Path) -> dict[Path, float]:
    return {
        p.parent: p.stat().st_mtime for p in study_dir.rglob(RESULTS_FILE) if p.parent.name != study_dir.name
    }


def launch_times(study_dir: Path) -> list[tuple[float, Path]]:
    """(when, run folder) for every job of every launch, from the launches' jobs files."""
    out = []
    for jobs_file in (study_dir / "launches").glob("*.json"):
        for job in json.loads(jobs_file.read_text())["jobs"]:
            run_dir = next(o.split("=", 1)[1] for o in job if o.startswith("paths.output_dir="))
            out.append((jobs_file.stat().st_mtime, Path(run_dir)))
    return out


def kill_when(study_dir: Path, log: Path, ready, timeout: float = 300) -> dict[Path, float]:
    """Start the study, SIGKILL its whole process group once ``ready()``; returns the runs finished by then."""
    process = start_study(study_dir, "study=smoke", log=log)
    deadline = time.monotonic() + timeout
    while not ready():
        assert process.poll() is None, (
            f"the study ended before it could be killed:\n{log.read_text()[-2000:]}"
        )
        assert time.monotonic() < deadline, "timed out waiting for the study to reach the kill point"
        time.sleep(0.2)
    os.killpg(process.pid, signal.SIGKILL)
    process.wait()
    time.sleep(1)  # let the killed processes go before the folders are read
    return finished_runs(study_dir)


def test_a_study_killed_in_its_search_and_in_its_runs_finishes_with_the_uninterrupted_report(
    smoke_study, tmp_path
):
    study_dir = tmp_path / "study"
    # 1. killed while the first round of trials trains
    kill_when(study_dir, tmp_path / "first.log", lambda: started(study_dir / "search"))
    states = [t.state.name for found in trials_of(study_dir).values() for t in found]
    assert "RUNNING" in states and "COMPLETE" not in states  # killed mid-search
    # 2. run again; killed once a seed run has finished
    done_before_second_kill = kill_when(
        study_dir, tmp_path / "second.log", lambda: any((study_dir / "runs").glob(f"*/{RESULTS_FILE}"))
    )
    assert any(p.parent.name == "runs" for p in done_before_second_kill)
    # 3. run again to the end
    done = study_cli(study_dir, "study=smoke")
    assert done.returncode == 0, done.stderr[-3000:]

    assert summary(report_of(study_dir)) == summary(report_of(smoke_study))
    for run_dir, stamp in done_before_second_kill.items():  # finished before the kill: never run again
        assert (run_dir / RESULTS_FILE).stat().st_mtime == stamp, run_dir
    for launched_at, run_dir in launch_times(study_dir):  # no launch of a run that had finished
        if run_dir in done_before_second_kill:
            assert launched_at <= done_before_second_kill[run_dir], run_dir
    for name, found in trials_of(study_dir).items():  # the killed trials were failed and retried, once each
        complete = [t for t in found if t.state.name == "COMPLETE"]
        assert len(complete) == 2, name
        assert len({t.params["optim.lr"] for t in complete}) == 2, name
        assert all(t.state.name in ("COMPLETE", "FAIL") for t in found), name
