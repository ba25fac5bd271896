"""``python -m src.train`` / ``python -m src.eval`` in a subprocess, under a chosen umask."""

from __future__ import annotations

import csv
import json
import subprocess
import sys
from pathlib import Path

from src.config import ROOT
from tests.conftest import GLUE_DIR
from tests.reliability.helpers import cli_env

# tiny_bert + LoRA on 16 real RTE rows, 4 steps; the merge callback saves the adapter and the merged model.
TINY_LORA = (
    "backbone=tiny_bert",
    "adapter=lora",
    "task=rte",
    f"data.glue_dir={GLUE_DIR}",
    "data.max_train_samples=16",
    "data.max_length=64",
    "data.max_eval_samples=8",
    "data.batch_size=4",
    "data.eval_batch_size=8",
    "trainer.max_epochs=1",
    "optim.lr=0.01",
    "+trainer.enable_progress_bar=false",
    "~callbacks.latency",
    "~callbacks.train_speed",
    "~callbacks.param_count",
    "callbacks.merge.save=true",
)


def cli(module: str, *args: str, umask: int = 0o022) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", module, *args],
        cwd=ROOT,
        env=cli_env(HF_HUB_OFFLINE="1"),
        capture_output=True,
        text=True,
        timeout=300,
        umask=umask,
    )


def read_json(path: Path) -> dict:
    return json.loads(path.read_text())


def logged(run_dir: Path, key: str) -> list[float]:
    """Every value the run's CSV logger recorded under ``key``, in order."""
    with open(run_dir / "csv" / "metrics.csv") as handle:
        return [float(row[key]) for row in csv.DictReader(handle) if row.get(key)]
