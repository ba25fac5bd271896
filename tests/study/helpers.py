"""Run ``python -m src.study`` as a user would, in a subprocess, and read what it leaves."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import optuna

from src.config import ROOT
from tests.conftest import GLUE_DIR, SHARED

ENV = {
    "KRONLAB_SHARED": str(SHARED),
    "HF_HUB_OFFLINE": "1",
    "OMP_NUM_THREADS": "1",
    "GLUE_DIR": str(GLUE_DIR),
}


def command(study_dir: Path, *args: str) -> list[str]:
    return [sys.executable, "-m", "src.study", f"study.dir={study_dir}", *args]


def study_cli(study_dir: Path, *args: str, timeout: int = 600) -> subprocess.CompletedProcess:
    return subprocess.run(command(study_dir, *args), cwd=ROOT, capture_output=True, text=True, timeout=timeout,
                          env=os.environ | ENV)  # fmt: skip


def start_study(study_dir: Path, *args: str, log: Path) -> subprocess.Popen:
    """The study in a session of its own, so the test can kill it with every process it started."""
    with open(log, "w") as out:
        return subprocess.Popen(command(study_dir, *args), cwd=ROOT, stdout=out, stderr=subprocess.STDOUT,
                                env=os.environ | ENV, start_new_session=True)  # fmt: skip


def report_of(study_dir: Path) -> dict:
    return json.loads((study_dir / "report.json").read_text())


def trials_of(study_dir: Path) -> dict[str, list[optuna.trial.FrozenTrial]]:
    storage = f"sqlite:///{study_dir / 'search.db'}"
    return {
        summary.study_name: optuna.load_study(study_name=summary.study_name, storage=storage).get_trials()
        for summary in optuna.get_all_study_summaries(storage)
    }


def launched_jobs(study_dir: Path) -> list[str]:
    """Every run folder any launch of the study handed to the launcher, once per launch."""
    folders = []
    for jobs_file in sorted((study_dir / "launches").glob("*.json")):
        for job in json.loads(jobs_file.read_text())["jobs"]:
            folders += [o.split("=", 1)[1] for o in job if o.startswith("paths.output_dir=")]
    return folders


def summary(report: dict) -> dict:
    """What two reports of the same study must agree on: every row's scores, every search's choice."""
    return {
        "rows": {(r["task"], r["method"]): (r["scores"], r["trainable"], r["lr"]) for r in report["rows"]},
        "searches": {(s["task"], s["method"]): (s["params"], s["objective"], s["trials"]) for s in report["searches"]},
        "claims": [(c["comparison"], c["differences"], c["verdict"]) for c in report["claims"]],
    }  # fmt: skip
