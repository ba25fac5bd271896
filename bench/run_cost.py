"""Where a cpu-study run's time goes: the training batches against everything else (process start, imports,
compose, model load, tokenisation, evaluation, writing), for the study's own job, at this checkout and at another
commit side by side.

Each run is ``python -m src.train <the cpu study's overrides for a row> +trainer.profiler=simple`` in a fresh
process; wall time is taken around the process, the parts from Lightning's SimpleProfiler table: training batches
(``run_training_batch``), evaluation (``validation_step`` + ``test_step``), the data module's setup (reading and
tokenising), and the rest of the Trainer's life; "outside the Trainer" is the wall time before and after it.

    python -m bench.run_cost --against <commit> --rounds 3      # KRONLAB_BENCH_THREADS=1 on a shared CPU
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from src.config import ROOT
from src.study.compose import compose_study
from src.study.jobs import row_overrides

from .common import write_table

PROFILED = {
    "training_batches_s": ("run_training_batch",),
    "evaluation_s": ("SingleDeviceStrategy.validation_step", "SingleDeviceStrategy.test_step"),
    "data_setup_s": ("GlueDataModule.setup",),
}
ROW = re.compile(
    r"^\|\s+(?P<action>.+?)\s+\|\s+(?P<mean>\S+)\s+\|\s+(?P<calls>\S+)\s+\|\s+(?P<total>\S+)\s+\|"
)


def study_job(row: str, task: str) -> list[str]:
    """The overrides the cpu study gives a seed run of ``row`` on ``task`` (seed 1, the row's default rate)."""
    study = compose_study(["study=cpu"])
    return [*row_overrides(study, "minilm", task, row, []), "seed=1"]


def profile_totals(output: str) -> dict[str, float]:
    totals: dict[str, float] = {}
    for line in output.splitlines():
        match = ROW.match(line.strip())
        if match and match["total"] not in ("-", "Total"):
            try:
                totals[match["action"]] = float(match["total"])
            except ValueError:
                continue
    return totals


def one_run(checkout: Path, overrides: list[str], threads: str) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as run_dir:
        env = {
            **os.environ,
            "PYTHONPATH": str(checkout),
            "OMP_NUM_THREADS": threads,
            "TOKENIZERS_PARALLELISM": "false",
        }
        command = [
            sys.executable,
            "-m",
            "src.train",
            *overrides,
            "+trainer.profiler=simple",
            f"hydra.run.dir={run_dir}",
        ]
        started = time.perf_counter()
        done = subprocess.run(command, cwd=checkout, env=env, capture_output=True, text=True)
        wall = time.perf_counter() - started
    if done.returncode != 0:
        raise RuntimeError(f"run failed at {checkout}: {done.stderr[-2000:]}")
    totals = profile_totals(done.stdout + done.stderr)
    parts = {
        name: sum(t for action, t in totals.items() if any(action.endswith(k) for k in keys))
        for name, keys in PROFILED.items()
    }
    trainer_life = totals.get("Total", 0.0) or max(totals.values(), default=0.0)
    other_trainer = trainer_life - sum(parts.values())
    return {
        "wall_s": wall,
        **parts,
        "other_in_trainer_s": other_trainer,
        "outside_trainer_s": wall - trainer_life,
        "fixed_s": wall - parts["training_batches_s"],
    }


def import_seconds(checkout: Path, threads: str) -> float:
    """A fresh process importing what ``src.train`` imports: what a reused study worker pays once, not per run."""
    env = {**os.environ, "PYTHONPATH": str(checkout), "OMP_NUM_THREADS": threads}
    started = time.perf_counter()
    subprocess.run([sys.executable, "-c", "import src.train"], cwd=checkout, env=env, check=True)
    return time.perf_counter() - started


def checkout_of(commit: str, into: Path) -> Path:
    subprocess.run(
        ["git", "worktree", "add", "--detach", str(into), commit], cwd=ROOT, check=True, capture_output=True
    )
    return into


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--against", help="a commit to measure beside this checkout (e.g. the one before a change)"
    )
    parser.add_argument("--row", default="lora")
    parser.add_argument("--task", default="sst2")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args(argv)
    threads = os.environ.get("KRONLAB_BENCH_THREADS", "1")
    overrides = study_job(args.row, args.task)
    with tempfile.TemporaryDirectory() as scratch:
        checkouts = {"this checkout": ROOT}
        if args.against:
            checkouts[args.against] = checkout_of(args.against, Path(scratch) / "against")
        try:
            samples: dict[str, list[dict]] = {name: [] for name in checkouts}
            for _ in range(args.rounds):
                for name, path in checkouts.items():  # in turn, so load hits both alike
                    run = one_run(path, overrides, threads)
                    run["imports_s"] = import_seconds(path, threads)
                    run["fixed_in_worker_s"] = run["fixed_s"] - run["imports_s"]
                    samples[name].append(run)
                    print(name, {k: round(v, 1) for k, v in samples[name][-1].items()}, flush=True)
        finally:
            if args.against:
                subprocess.run(
                    ["git", "worktree", "remove", "--force", str(checkouts[args.against])], cwd=ROOT
                )
    rows = []
    for name, runs in samples.items():
        row = {"checkout": name, **{k: statistics.median(r[k] for r in runs) for k in runs[0]}}
        row["fixed_pct_of_run"] = 100 * row["fixed_s"] / row["wall_s"]
        row["fixed_in_worker_pct"] = 100 * row["fixed_in_worker_s"] / (row["wall_s"] - row["imports_s"])
        rows.append(row)
    notes = [
        f"one cpu-study job: `python -m src.train {' '.join(overrides)}` (MiniLM, {args.task}, row {args.row}), "
        f"{threads} thread(s), a fresh process per run; medians of {args.rounds} runs per checkout, the checkouts in turn",
        "fixed = wall - training batches (forward, backward, optimiser step of every batch); evaluation = every "
        "validation and test step; data setup = reading and tokenising the splits; outside the Trainer = process "
        "start, imports, compose, model build and writing results before and after the Trainer's life",
        "a study launched through the joblib launcher runs its jobs in reused worker processes: imports are paid "
        "once per worker, not once per run as here (submitit and SLURM start a process per job); imports = a fresh `python -c 'import src.train'`, and "
        "fixed_in_worker = fixed - imports, as a percentage of the run without them",
    ]
    columns = ["checkout", "wall_s", "training_batches_s", "evaluation_s", "data_setup_s", "other_in_trainer_s",
               "outside_trainer_s", "fixed_s", "fixed_pct_of_run", "imports_s", "fixed_in_worker_s",
               "fixed_in_worker_pct"]  # fmt: skip
    write_table("run_cost", "A cpu-study run: training against fixed cost", rows, columns, notes)


if __name__ == "__main__":
    main()
