"""The same study through other launchers: submitit's local executor end to end, and SLURM through submitit
up to ``sbatch`` (a stand-in ``sbatch`` on PATH keeps the script submitit wrote and refuses it): one array a
batch, one GPU and one task a job."""

from __future__ import annotations

import json
import os
import re
import subprocess
from pathlib import Path

import pytest

from src.config import ROOT
from src.study.compose import compose_study, train_config

from .helpers import ENV, command, report_of

pytestmark = pytest.mark.slow

SMALL = ("study=smoke", "study.claim_seeds=[1]", "study.other_seeds=[1]", "study.search.trials=1")


def test_the_smoke_study_runs_end_to_end_through_submitits_local_executor(tmp_path):
    study_dir = tmp_path / "study"
    done = subprocess.run(command(study_dir, *SMALL, "hydra/launcher=submitit_local"), cwd=ROOT,
                          capture_output=True, text=True, timeout=600, env=os.environ | ENV)  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    report = report_of(study_dir)
    assert {r["method"]: r["seeds"] for r in report["rows"]} == {"lora": 1, "krona": 1, "peft_lora": 1}
    submitted = [p for p in (study_dir / ".submitit").iterdir() if p.name.isdigit()]
    assert len(submitted) == 2 + 3  # one submitit job per run: 2 trials, 3 seed runs


def fake_slurm(tmp_path: Path) -> dict[str, str]:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "sbatch").write_text(
        '#!/bin/sh\ncp "$1" "$SBATCH_CAPTURE"\necho "sbatch: error: no SLURM here" >&2\nexit 1\n'
    )
    (bin_dir / "srun").write_text("#!/bin/sh\nexit 1\n")
    for tool in bin_dir.iterdir():
        tool.chmod(0o755)
    return {"PATH": f"{bin_dir}:{os.environ['PATH']}", "SBATCH_CAPTURE": str(tmp_path / "sbatch.sh")}


@pytest.mark.parametrize("name", ["paper_bert", "paper_t5"])
def test_a_paper_study_on_slurm_is_one_array_of_one_gpu_jobs(name, tmp_path):
    study_dir = tmp_path / "study"
    args = (f"study={name}", "study.tasks=[rte]", "hydra/launcher=slurm", "trainer=gpu")
    done = subprocess.run(command(study_dir, *args), cwd=ROOT, capture_output=True, text=True, timeout=600,
                          env=os.environ | ENV | fake_slurm(tmp_path))  # fmt: skip
    assert done.returncode == 2 and "no SLURM here" in done.stderr.strip().splitlines()[-1], done.stderr[
        -2000:
    ]
    script = (tmp_path / "sbatch.sh").read_text()
    study = compose_study([f"study={name}", "study.tasks=[rte]"])
    searched = [r for r, row in study.rows.items() if row.lr_from is None]
    first_round = len(searched) * study.search.batch  # every search's first batch of trials, as one array
    assert f"#SBATCH --array=0-{first_round - 1}%32" in script
    assert "#SBATCH --gpus-per-node=1" in script and "#SBATCH --ntasks-per-node=1" in script
    assert re.search(r"#SBATCH --nodes=1\b", script)
    (jobs_file,) = (study_dir / "launches").glob("*-search.json")
    jobs = json.loads(jobs_file.read_text())["jobs"]
    assert len(jobs) == first_round
    for job in jobs:
        cfg = train_config([o for o in job if not o.startswith("hydra.")])
        assert (cfg.trainer.accelerator, cfg.trainer.devices) == ("gpu", 1)
