"""A study job that dies (SIGKILL, as out-of-memory or a failed node does) is recorded as failed with its cause
and the study goes on: a killed search trial is asked again with its values, a killed seed run is retried by
the next invocation (up to study.retries times), and the finished study reports what the uninterrupted one does."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from src.run.run_folder import claim, release
from src.study.failures import FAILURES

from .helpers import report_of, start_study, study_cli, summary

pytestmark = pytest.mark.slow


def kill_once(marker: Path, only_in: str) -> list[str]:
    name = marker.stem
    return [f"+callbacks.{name}._target_=tests.study.helpers.KillOnce", f"+callbacks.{name}.marker={marker}",
            f"+callbacks.{name}.only_in={only_in}"]  # fmt: skip


@pytest.mark.xdist_group("smoke_study")
def test_killed_jobs_are_recorded_retried_and_the_study_ends_as_if_uninterrupted(smoke_study, tmp_path):
    study_dir = tmp_path / "study"
    kills = [
        *kill_once(tmp_path / "in_search.mark", "/search/"),
        *kill_once(tmp_path / "in_runs.mark", "/runs/"),
        "study.select_rows=[lora]",  # one searched row: the test's cost is three study invocations
    ]

    first = study_cli(study_dir, "study=smoke", *kills)
    assert (tmp_path / "in_search.mark").exists() and (tmp_path / "in_runs.mark").exists()
    assert first.returncode == 1, first.stderr[-3000:]
    last_line = first.stderr.strip().splitlines()[-1]
    assert (
        last_line.startswith("error: ")
        and "did not finish" in last_line
        and "the same command retries" in last_line
    )
    ledger = json.loads((study_dir / FAILURES).read_text())
    killed_in_search = Path((tmp_path / "in_search.mark").read_text()).relative_to(study_dir)
    killed_in_runs = Path((tmp_path / "in_runs.mark").read_text()).relative_to(study_dir)
    for killed in (killed_in_search, killed_in_runs):
        (attempt,) = ledger[str(killed)]
        assert attempt["kind"] == "killed" and "without writing results.json" in attempt["cause"]
    assert (study_dir / killed_in_search / "results.json").exists(), (
        "the killed trial was asked again and ran"
    )

    given_up = study_cli(study_dir, "study=smoke", "study.retries=0", *kills)
    assert given_up.returncode == 1 and "not launching" in given_up.stderr, given_up.stderr[-3000:]
    assert not (study_dir / killed_in_runs / "results.json").exists()

    retried = study_cli(study_dir, "study=smoke", *kills)
    assert retried.returncode == 0, retried.stderr[-3000:]
    ours, uninterrupted = summary(report_of(study_dir)), summary(report_of(smoke_study))
    assert ours["rows"][("sst2", "lora")] == uninterrupted["rows"][("sst2", "lora")]
    assert ours["searches"][("sst2", "lora")] == uninterrupted["searches"][("sst2", "lora")]


def test_a_run_another_worker_holds_is_waited_for_and_run_here_if_left_unfinished(tmp_path):
    study_dir = tmp_path / "study"
    held = study_dir / "runs" / "tiny_bert-sst2-lora-seed2"
    descriptor = claim(held)  # another worker of the study, running this job
    log = tmp_path / "study.log"
    study = start_study(study_dir, "study=smoke", "study.select_rows=[lora]", "study.claim_seeds=[1,2]",
                        "study.stage=runs", log=log)  # fmt: skip
    try:
        deadline = time.monotonic() + 300
        while "waiting for 1 run(s) another process is running" not in log.read_text():
            assert study.poll() is None and time.monotonic() < deadline, log.read_text()[-3000:]
            time.sleep(0.5)
        assert not (held / "results.json").exists()
        released_at = time.time()
        release(descriptor)  # that worker died without finishing: this study runs the job itself
        assert study.wait(timeout=300) == 0, log.read_text()[-3000:]
    finally:
        if study.poll() is None:
            study.kill()
    finished = json.loads((held / "results.json").read_text())
    assert finished["status"] == "finished" and (held / "results.json").stat().st_mtime > released_at
    assert len(list((study_dir / "runs").glob("*/results.json"))) == 2
    assert not (study_dir / FAILURES).exists(), "a job another worker held is not a failed attempt"
