"""``python -m bench.launch_overhead``: what a study pays per job before training starts, per launcher.

For each launcher (joblib, Hydra's default for src.study; submitit's local executor) a small study
(study=smoke, its seed runs only, at the methods' default learning rates: 3 runs, 2 side by side) runs in a
fresh folder, and for each of the first two jobs (the ones that start at once) the time from the launch
(``started_at`` in the launch's jobs file, just before ``python -m src.train -m`` starts) to the job's first
training step (``train_speed.first_step_at`` in its results.json) is read. Per launcher: those seconds, and
the job's own part of them (process start, imports, compose, model load, tokenisation) is the rest of the
run's ``wall_time_s`` minus its training and evaluation, which this table does not split further.
Run on a quiet machine; writes bench/results/launch_overhead.md / .json.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from src.config import ROOT
from src.record import read_record

from .common import write_table

LAUNCHERS = {"joblib": "hydra/launcher=parallel", "submitit_local": "hydra/launcher=submitit_local"}
STUDY = ["study=smoke", "study.stage=runs", "study.claim_seeds=[1]", "study.other_seeds=[1]", "study.jobs=2"]


def measure(launcher: str, folder: Path) -> dict:
    if folder.exists():
        shutil.rmtree(folder)
    command = [sys.executable, "-m", "src.study", *STUDY, f"study.dir={folder}", LAUNCHERS[launcher]]
    env = os.environ | {"HF_HUB_OFFLINE": "1"}
    subprocess.run(command, cwd=ROOT, env=env, check=True, capture_output=True, text=True)
    (jobs_file,) = (folder / "launches").glob("*-runs.json")
    launch = json.loads(jobs_file.read_text())
    overheads = []
    for job in launch["jobs"][:2]:
        run_dir = Path(next(o.split("=", 1)[1] for o in job if o.startswith("paths.output_dir=")))
        overheads.append(read_record(run_dir).section("train_speed")["first_step_at"] - launch["started_at"])
    return {"launcher": launcher, "jobs_timed": len(overheads), "overhead_s_median": statistics.median(overheads),
            "overhead_s_min": min(overheads), "overhead_s_max": max(overheads)}  # fmt: skip


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args(argv)
    rows = []
    with tempfile.TemporaryDirectory() as scratch:
        for repeat in range(args.repeats):  # launchers interleaved, so load hits both alike
            for launcher in LAUNCHERS:
                rows.append({"repeat": repeat, **measure(launcher, Path(scratch) / launcher)})
                print(rows[-1], flush=True)
    summary = [
        {"launcher": name, "repeats": args.repeats,
         "overhead_s_median": statistics.median(r["overhead_s_median"] for r in rows if r["launcher"] == name)}
        for name in LAUNCHERS
    ]  # fmt: skip
    notes = [f"study: python -m src.study {' '.join(STUDY)} <launcher>; tiny_bert, 64 SST-2 rows, 1 thread a job",
             "overhead: launch start (src.study about to start `python -m src.train -m`) to the job's first "
             "training step, for the two jobs that start at once; median over them, then over repeats"]  # fmt: skip
    path = write_table("launch_overhead", "Launch overhead per job, by launcher", summary,
                       ["launcher", "repeats", "overhead_s_median"], notes,
                       sections=[("Every repeat", ["repeat", "launcher", "jobs_timed", "overhead_s_median",
                                                   "overhead_s_min", "overhead_s_max"], rows)])  # fmt: skip
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
