"""Run ``python -m src.study`` as a user would, in a subprocess, and read what it leaves."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import lightning as L
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


class KillOnce(L.Callback):
    """SIGKILLs its own process after the first optimiser step, once per ``marker`` file and only in a run
    folder whose path contains ``only_in``: a worker that dies (out of memory, a node that fails)."""

    def __init__(self, marker: str, only_in: str) -> None:
        self.marker, self.only_in = marker, only_in

    def on_train_batch_end(self, trainer: L.Trainer, *args: object) -> None:
        if self.only_in not in trainer.default_root_dir:
            return
        try:
            os.close(os.open(self.marker, os.O_CREAT | os.O_EXCL | os.O_WRONLY))
        except FileExistsError:
            return
        Path(self.marker).write_text(trainer.default_root_dir)
        os.kill(os.getpid(), signal.SIGKILL)
