"""Jobs out through Hydra's launcher: one ``python -m src.train -m hydra/sweeper=job_list`` per batch, so
joblib, submitit (local or SLURM, one array per batch) or Ray runs them, with their threads or their GPU.
A job whose run folder already holds a finished run of the same identity is not launched again."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from src.atomic import write_text_atomic
from src.config import ROOT
from src.errors import UserError
from src.record import RESULTS_FILE
from src.run.run_folder import in_use

from .failures import failure_of, given_up, ledger_path
from .failures import record as record_failures
from .identity import finished
from .jobs import Job
from .progress import Progress
from .settings import StudySettings

LAUNCHES = "launches"  # the jobs file and the launcher's log of every batch
BUSY_POLL_S = 5.0


class LaunchError(UserError):
    """The launcher itself failed (not a job): its log says why."""


def launcher_overrides(study: StudySettings, given: Sequence[str]) -> list[str]:
    """The command line's ``hydra/launcher=...`` and ``hydra.launcher.*``; joblib (``parallel``) with
    ``study.jobs`` side by side by default. submitit's local executor starts every job it is handed at
    once, so it is handed ``study.jobs`` at a time."""
    chosen = next((o.split("=", 1)[1] for o in given if o.startswith("hydra/launcher=")), None)
    overrides = list(given)
    if chosen is None:
        chosen = "parallel"
        overrides.insert(0, "hydra/launcher=parallel")
    if chosen in ("parallel", "joblib") and not any(o.startswith("hydra.launcher.n_jobs=") for o in given):
        overrides.append(f"hydra.launcher.n_jobs={study.jobs}")
    if chosen == "submitit_local":
        overrides.append(f"hydra.sweeper.max_batch_size={study.jobs}")
    return overrides


def pending(jobs: Sequence[Job]) -> list[Job]:
    return [job for job in jobs if finished(job.run_dir, job.identity) is None]


def launch(study: StudySettings, jobs: Sequence[Job], launcher: Sequence[str], stage: str) -> int:
    """Run the jobs not finished yet; returns how many were launched. Blocks until they are done.

    Another process running the same study (a second worker, the same command started twice) holds the run
    folders of the jobs it runs: those are left to it and waited for; any it leaves unfinished are run here."""
    launched, tried = 0, set()
    while True:
        todo = [job for job in pending(jobs) if job.run_dir not in tried]
        busy = [job for job in todo if in_use(Path(job.run_dir))]
        mine = [job for job in todo if job not in busy]
        if mine:
            launched += launch_batch(study, mine, launcher, stage)
            tried |= {job.run_dir for job in mine}
        if not busy or study.dry_run:
            return launched
        print(
            f"waiting for {len(busy)} run(s) another process is running, e.g. {busy[0].run_dir}",
            file=sys.stderr,
        )
        while any(in_use(Path(job.run_dir)) for job in busy):
            time.sleep(BUSY_POLL_S)


def launch_batch(study: StudySettings, jobs: Sequence[Job], launcher: Sequence[str], stage: str) -> int:
    todo = list(jobs)
    out = given_up(study, todo)
    if out:
        print(f"not launching {len(out)} run(s) that failed {1 + study.retries} times (study.retries="
              f"{study.retries}; causes: {ledger_path(study)}), e.g. {out[0].run_dir}", file=sys.stderr)  # fmt: skip
        todo = [job for job in todo if job not in out]
    if not todo:
        return 0
    folder = Path(study.dir) / LAUNCHES
    stamp = time.strftime("%Y%m%d-%H%M%S") + f"-{os.getpid()}"
    jobs_file = folder / f"{stamp}-{stage}.json"
    sweep_dir = Path(study.dir).resolve()
    jobs = [job_overrides(job, sweep_dir) for job in todo]
    # started_at (Unix seconds): what bench.launch_overhead measures each job's first training step from
    record = {"started_at": time.time(), "launcher": list(launcher), "jobs": jobs}
    write_text_atomic(jobs_file, json.dumps(record, indent=1))
    command = [
        sys.executable, "-m", "src.train", "-m", "hydra/sweeper=job_list", f"hydra.sweeper.jobs_file={jobs_file}",
        f"hydra.sweep.dir={sweep_dir}", *launcher_overrides(study, launcher),
    ]  # fmt: skip
    env = os.environ | {"TOKENIZERS_PARALLELISM": "false", "HYDRA_FULL_ERROR": "1"}
    if study.threads:
        env |= {"OMP_NUM_THREADS": str(study.threads), "MKL_NUM_THREADS": str(study.threads)}
    if study.dry_run:
        print(
            f"would launch {len(todo)} {stage} jobs (one batch; jobs file {jobs_file}):\n  {' '.join(command[1:])}"
        )
        return len(todo)
    log_file = jobs_file.with_suffix(".log")
    with open(log_file, "w") as log, Progress(study, todo, stage):
        done = subprocess.run(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    tail = log_file.read_text()[-1500:].strip().splitlines()
    said = (
        f"the launcher's exit {done.returncode}, its last line: {tail[-1] if tail else 'none'} ({log_file})"
    )
    failures = [failure for job in todo if (failure := failure_of(job, record["started_at"], said))]
    record_failures(study, failures, log_file)
    if done.returncode != 0 and not any(started_since(job, record["started_at"]) for job in todo):
        raise LaunchError(f"the launcher stopped with exit {done.returncode} ({tail[-1] if tail else 'no output'}) "
                          f"before any job started; its log: {log_file}. Fix that and run the same command again: "
                          "finished runs are kept.")  # fmt: skip
    return len(todo)


def started_since(job: Job, since: float) -> bool:
    return any(
        p.is_file() and p.stat().st_mtime >= since
        for p in (Path(job.run_dir) / ".hydra" / "config.yaml", Path(job.run_dir) / RESULTS_FILE)
    )


def job_overrides(job: Job, sweep_dir: Path) -> list[str]:
    """The job's overrides, with Hydra's own folder for it (.hydra/, the log) inside its run folder."""
    subdir = Path(job.run_dir).resolve().relative_to(sweep_dir)
    return [*job.overrides, f"hydra.sweep.subdir={subdir}"]
