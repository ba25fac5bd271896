"""``python -m bench.search --plan cpu``: an Optuna search (``hparams_search=<method>``) of every searched row of
a quality plan, at that plan's budget (backbone, rows, max_length, epochs, sizes), on the search split;
then ``bench.search_results`` writes the choices into ``bench/quality_lr.yaml`` and the trial table.

Each search is ``python -m src.train -m hparams_search=<method> ...`` in a subprocess, trials two at a time
through the joblib launcher (``hydra/launcher=parallel``), one thread each on a CPU. A search whose
directory already holds ``optimization_results.yaml`` is not run again (``--force`` reruns it).
Parity rows (PEFT) take their kronlab twin's value and are not searched.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
from pathlib import Path

from src.config import ROOT

from . import search_results
from .common import RESULTS_DIR
from .quality_plans import PLANS, ROWS, Plan, size_overrides

SEARCH_DIR = RESULTS_DIR / "search_runs"


def plan_overrides(plan: Plan, backbone: str, task: str, row: str, cuda: bool) -> list[str]:
    """What every run of this row under this plan sets, search trial or benchmark run alike."""
    overrides = [
        f"backbone={backbone}", f"adapter={ROWS[row].adapter}", f"task={task}", f"trainer.max_epochs={plan.epochs}",
        "trainer=gpu" if cuda else "trainer=cpu", "logger=csv", "callbacks.latency.enabled=false",
        *size_overrides(ROWS[row], backbone), *plan.extra,
    ]  # fmt: skip
    if plan.max_train_samples:
        overrides.append(f"data.max_train_samples={plan.max_train_samples}")
    if plan.max_length:
        overrides.append(f"data.max_length={plan.max_length}")
    return overrides


def search_command(
    plan: Plan, backbone: str, task: str, row: str, sweep_dir: Path, jobs: int, cuda: bool
) -> list[str]:
    return [
        sys.executable, "-m", "src.train", "-m", f"hparams_search={ROWS[row].adapter}",
        *plan_overrides(plan, backbone, task, row, cuda),
        f"data.search_validation_rows={plan.search_validation_rows}", f"hydra.sweeper.n_trials={plan.search_trials}",
        f"hydra.sweeper.n_jobs={jobs}", "hydra/launcher=parallel", f"hydra.launcher.n_jobs={jobs}",
        f"hydra.sweep.dir={sweep_dir}",
        # One epoch: the objective is the validation score after it; testing would score the same held-out rows again.
        *(["test=false"] if plan.epochs == 1 else []),
    ]  # fmt: skip


def run_search(command: list[str], sweep_dir: Path, threads: int, force: bool) -> None:
    if (sweep_dir / "optimization_results.yaml").exists() and not force:
        print(f"{sweep_dir.name}: already searched", flush=True)
        return
    if sweep_dir.exists():
        shutil.rmtree(sweep_dir)  # an interrupted search: its trials would mix with the new ones
    env = os.environ | {"OMP_NUM_THREADS": str(threads), "TOKENIZERS_PARALLELISM": "false"}
    print(f"{sweep_dir.name}: {' '.join(command[3:])}", flush=True)
    done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(
            f"error: the search in {sweep_dir} failed (exit {done.returncode}):\n{done.stderr[-3000:]}"
        )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--plan", choices=sorted(PLANS), default="cpu")
    parser.add_argument("--tasks", nargs="+")
    parser.add_argument("--rows", nargs="+", help="method rows (default: every searched row of the plan)")
    parser.add_argument("--trials", type=int, help="trials per search (default: the plan's)")
    parser.add_argument("--jobs", type=int, help="trials side by side (default: 2 on a CPU, 1 on a GPU)")
    parser.add_argument("--threads", type=int, default=1, help="torch threads per trial on a CPU")
    parser.add_argument("--force", action="store_true", help="rerun searches that already finished")
    parser.add_argument("--out", type=Path, default=SEARCH_DIR)
    args = parser.parse_args(argv)
    import torch

    cuda = torch.cuda.is_available()
    plan = PLANS[args.plan]
    if args.trials:
        plan = Plan(**{**plan.__dict__, "search_trials": args.trials})
    jobs = args.jobs or (1 if cuda else 2)
    for backbone in plan.backbones:
        for task in args.tasks or plan.tasks:
            for row in [r for r in (args.rows or plan.rows_for(task)) if ROWS[r].lr_from is None]:
                sweep_dir = args.out / args.plan / f"{backbone}-{task}-{row}"
                command = search_command(plan, backbone, task, row, sweep_dir, jobs, cuda)
                run_search(command, sweep_dir, args.threads, args.force)
                # Recorded as each search ends: a plan stopped part-way keeps every finished search's choice.
                sweep = search_results.read_sweep(sweep_dir, row)
                print(f"wrote {search_results.record(args.plan, [sweep])} and "
                      f"{search_results.write_search_table(args.plan, [sweep])}", flush=True)


if __name__ == "__main__":
    main()
