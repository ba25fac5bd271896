"""Run ``python -m src.train`` as a user would, in a subprocess."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from src.config import ROOT
from tests.conftest import GLUE_DIR, SHARED


def train_cli(
    *overrides: str, run_dir: Path, timeout: int = 600, env: dict | None = None
) -> subprocess.CompletedProcess:
    command = [
        sys.executable,
        "-m",
        "src.train",
        f"hydra.run.dir={run_dir}",
        f"data.glue_dir={GLUE_DIR}",
        *overrides,
    ]
    # One thread per process: tiny models only lose to thread contention on a 2-core machine.
    environment = (
        os.environ
        | {"KRONLAB_SHARED": str(SHARED), "HF_HUB_OFFLINE": "1", "OMP_NUM_THREADS": "1"}
        | (env or {})
    )
    return subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=timeout, env=environment)


def results_of(run_dir: Path) -> dict:
    return json.loads((run_dir / "results.json").read_text())
