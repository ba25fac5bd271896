"""What a researcher watches while a batch runs: runs done, running, failed and left, with the time left
estimated from the runs that finished, one line each time a count changes (read from the run folders,
so it works whichever launcher or machine runs the jobs)."""

from __future__ import annotations

import statistics
import sys
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from src.record import read_record, results_path

from .jobs import Job
from .settings import StudySettings

POLL_S = 5.0


@dataclass(frozen=True)
class Counts:
    done: int
    running: int
    failed: int
    left: int
    minutes_per_run: float | None

    def line(self, name: str, stage: str, side_by_side: int) -> str:
        text = f"study {name} ({stage}): {self.done} done, {self.running} running, {self.failed} failed, {self.left} left"
        remaining = self.running + self.left
        if self.minutes_per_run is not None and remaining:
            minutes = self.minutes_per_run * -(-remaining // max(side_by_side, 1))
            text += f"; about {minutes:.0f} min left ({60 * self.minutes_per_run:.0f} s a run)"
        return text


def count(jobs: Sequence[Job], started: float) -> Counts:
    done = failed = running = 0
    minutes = []
    for job in jobs:
        results_file = results_path(job.run_dir)
        if results_file.exists() and results_file.stat().st_mtime >= started:
            record = read_record(job.run_dir)
            if record.finished:
                done += 1
                minutes.append((record.wall_time_s or 0.0) / 60)
            else:
                failed += 1
        elif (Path(job.run_dir) / ".hydra").exists():
            running += 1
    left = len(jobs) - done - failed - running
    return Counts(done, running, failed, left, statistics.median(minutes) if minutes else None)


class Progress:
    """A thread printing ``count`` while a batch is out: ``with Progress(study, jobs, "search"): ...``."""

    def __init__(self, study: StudySettings, jobs: Sequence[Job], stage: str) -> None:
        self.study, self.jobs, self.stage = study, list(jobs), stage
        self.started = time.time()
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self.watch, daemon=True)

    def watch(self) -> None:
        last = None
        while True:
            counts = count(self.jobs, self.started)
            if counts != last:
                print(counts.line(self.study.name, self.stage, self.study.jobs), file=sys.stderr, flush=True)
                last = counts
            if self.stop.wait(POLL_S):
                return

    def __enter__(self) -> Progress:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        self.thread.join()
        counts = count(self.jobs, self.started)
        print(counts.line(self.study.name, self.stage, self.study.jobs), file=sys.stderr, flush=True)
