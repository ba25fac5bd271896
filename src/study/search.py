"""The searches of a study: one Optuna study per (backbone, task, searched row) in the study's storage,
driven by ask and tell. Each round asks every unfinished search for up to ``search.batch`` trials and
sends all their runs out as one launch, so a cluster runs every search's trials at once.

Resumable and shared: a trial is sampled from a sampler seeded by its place in the search (not by the
process), so a search stopped and started again asks the same values; a trial left running by a worker
that died (SIGKILL, a node lost) is failed and re-enqueued with the same values, by Optuna's heartbeat
on an RDB storage or at once when its worker was on this machine; several workers on one storage ask
distinct trials and never more than ``search.trials`` in all.
"""

from __future__ import annotations

import os
import socket
import statistics
import threading
import time
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import optuna
from optuna.distributions import BaseDistribution, CategoricalDistribution, FloatDistribution, IntDistribution
from optuna.storages import BaseStorage, RetryHeartbeatStaleTrialCallback, fail_stale_trials
from optuna.trial import FrozenTrial, Trial, TrialState

from src.record import read_record
from src.run.fit import objective

from .failures import interrupted
from .jobs import Job, search_name, search_space_of, trial_jobs
from .settings import StudySettings
from .space import distributions
from .storage import retry_callback

# Optuna marks heartbeats outside Study.optimize experimental; they are used as its docs describe
warnings.filterwarnings("ignore", category=optuna.exceptions.ExperimentalWarning)
warnings.filterwarnings("ignore", message="Heartbeat of storage is supposed to be used with Study.optimize")
optuna.logging.set_verbosity(optuna.logging.WARNING)

WAIT_S = 5.0  # how often a worker looks again while another worker's trials are running
SURPLUS = "surplus"  # a trial asked after other workers had filled the search: told failed, not run


@dataclass
class Search:
    backbone: str
    task: str
    row: str
    optuna_study: optuna.Study
    space: dict[str, BaseDistribution]

    @property
    def key(self) -> tuple[str, str, str]:
        return self.backbone, self.task, self.row


def searched_rows(study: StudySettings) -> list[tuple[str, str, str]]:
    """The rows each task searches: those it runs, and the ones whose values a parity row it runs takes."""
    out = []
    for backbone in study.backbones:
        for task in study.tasks:
            runs = study.rows_for(task)
            sources = [study.rows[r].lr_from or r for r in runs]
            out += [(backbone, task, r) for r in dict.fromkeys(sources) if study.rows[r].lr_from is None]
    return out


def load_or_create(storage: BaseStorage, name: str) -> optuna.Study:
    """The search of that name, created when missing (loading first: a journal logs every create it is asked)."""
    try:
        return optuna.load_study(study_name=name, storage=storage)
    except KeyError:
        return optuna.create_study(
            storage=storage, study_name=name, direction="maximize", load_if_exists=True
        )


def open_searches(study: StudySettings, storage: BaseStorage, passthrough: list[str]) -> list[Search]:
    searches = []
    for backbone, task, row in searched_rows(study):
        space_text = search_space_of(study, row)
        name = search_name(study, backbone, task, row, passthrough)
        optuna_study = load_or_create(storage, name)
        if "space" not in optuna_study.user_attrs:  # what the dashboard shows of it
            optuna_study.set_user_attr("space", space_text)
            optuna_study.set_user_attr("seeds_per_trial", study.search.seeds_per_trial)
        searches.append(Search(backbone, task, row, optuna_study, distributions(space_text)))
    return searches


def retried_numbers(trials: Sequence[FrozenTrial]) -> set[int]:
    return {n for t in trials if (n := RetryHeartbeatStaleTrialCallback.retried_trial_number(t)) is not None}


def counted(trials: Sequence[FrozenTrial]) -> list[FrozenTrial]:
    """The trials that count towards ``search.trials``: not a failed one that was retried, not a surplus."""
    retried = retried_numbers(trials)
    return [t for t in trials if not t.user_attrs.get(SURPLUS)
            and not (t.state == TrialState.FAIL and t.number in retried)]  # fmt: skip


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def alive_here(worker: str) -> bool:
    host, _, pid = worker.rpartition(":")
    if host != socket.gethostname():
        return True  # another machine's worker: Optuna's heartbeat decides
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def fail_dead_trials(search: Search, storage: BaseStorage) -> None:
    """Running trials whose worker is gone go back to the queue with their values."""
    fail_stale_trials(search.optuna_study)  # Optuna's heartbeat (RDB storages)
    for trial in search.optuna_study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)):
        if not alive_here(trial.user_attrs.get("worker", "")):
            try:
                storage.set_trial_state_values(trial._trial_id, TrialState.FAIL)
            except optuna.exceptions.UpdateFinishedTrialError:
                continue  # its worker told it meanwhile
            retry_callback()(search.optuna_study, storage.get_trial(trial._trial_id))


def suggest(trial: Trial, name: str, dist: BaseDistribution) -> Any:
    if isinstance(dist, FloatDistribution):
        return trial.suggest_float(name, dist.low, dist.high, log=dist.log, step=dist.step)
    if isinstance(dist, IntDistribution):
        return trial.suggest_int(name, dist.low, dist.high, log=dist.log, step=dist.step)
    assert isinstance(dist, CategoricalDistribution)
    return trial.suggest_categorical(name, list(dist.choices))


def ask(study: StudySettings, search: Search, storage: BaseStorage) -> Trial | None:
    """One trial with its values (a re-enqueued one first), or None when other workers filled the search."""
    trial = search.optuna_study.ask()
    trial.set_user_attr("worker", worker_name())
    if hasattr(storage, "record_heartbeat") and optuna.storages._heartbeat.is_heartbeat_enabled(storage):
        storage.record_heartbeat(trial._trial_id)
    before = [t for t in counted(search.optuna_study.get_trials(deepcopy=False)) if t.number < trial.number]
    index = len(before)
    if index >= study.search.trials:
        trial.set_user_attr(SURPLUS, True)
        search.optuna_study.tell(trial, state=TrialState.FAIL)
        return None
    search.optuna_study.sampler = optuna.samplers.TPESampler(
        seed=study.search.seed + index, n_startup_trials=study.search.startup_trials
    )
    for name, dist in search.space.items():
        suggest(trial, name, dist)
    trial.set_user_attr("index", index)
    return trial


def trial_score(jobs: Sequence[Job]) -> float | None:
    """The median over the trial's seeds of the primary validation metric; None when every seed failed."""
    scores = []
    for job in jobs:
        try:
            value = objective(read_record(job.run_dir))
        except (OSError, ValueError, KeyError):
            value = None
        if value is not None:
            scores.append(value)
    return statistics.median(scores) if scores else None


class Heartbeat:
    """Records Optuna heartbeats for the trials out, while a launch blocks."""

    def __init__(self, storage: BaseStorage, trials: Sequence[Trial], every_s: float) -> None:
        self.storage, self.trials, self.every_s = storage, trials, every_s
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self.beat, daemon=True)

    def beat(self) -> None:
        while not self.stop.wait(self.every_s):
            for trial in self.trials:
                self.storage.record_heartbeat(trial._trial_id)

    def __enter__(self) -> Heartbeat:
        if optuna.storages._heartbeat.is_heartbeat_enabled(self.storage):
            self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        if self.thread.is_alive():
            self.thread.join()


def run_searches(
    study: StudySettings,
    storage: BaseStorage,
    passthrough: list[str],
    launch: Callable[[list[Job], str], int],
    max_rounds: int | None = None,
) -> dict[tuple[str, str, str], dict[str, Any]]:
    """Every search to ``search.trials`` trials (or ``max_rounds`` rounds); returns each row's best values."""
    searches = open_searches(study, storage, passthrough)
    rounds = 0
    while max_rounds is None or rounds < max_rounds:
        rounds += 1
        out: list[tuple[Search, Trial, list[Job]]] = []
        others_running = False
        for search in searches:
            fail_dead_trials(search, storage)
            trials = counted(search.optuna_study.get_trials(deepcopy=False))
            asked = [t for t in trials if t.state != TrialState.WAITING]
            for _ in range(min(study.search.batch, study.search.trials - len(asked))):
                trial = ask(study, search, storage)
                if trial is not None:
                    jobs = trial_jobs(
                        study, *search.key, trial.params, passthrough, search.optuna_study.study_name
                    )
                    out.append((search, trial, jobs))
            others_running |= any(t.state == TrialState.RUNNING for t in search.optuna_study.get_trials(deepcopy=False)
                                  if t.number not in {trial.number for _, trial, _ in out})  # fmt: skip
        if not out:
            if not others_running:
                break
            time.sleep(WAIT_S)
            continue
        for _, trial, jobs in out:  # relative: the storage may be read from another checkout
            trial.set_user_attr("run_dirs", [str(Path(job.run_dir).relative_to(study.dir)) for job in jobs])
        with Heartbeat(storage, [trial for _, trial, _ in out], study.search.heartbeat_s):
            launch([job for _, _, jobs in out for job in jobs], "search")
        for search, trial, jobs in out:
            score = trial_score(jobs)
            if score is None:
                search.optuna_study.tell(trial, state=TrialState.FAIL)
                if interrupted(study, jobs):  # not the values' fault: asked again, with the same values
                    retry_callback()(search.optuna_study, storage.get_trial(trial._trial_id))
            else:
                search.optuna_study.tell(trial, score)
    return {search.key: best_params(search) for search in searches}


def best_params(search: Search) -> dict[str, Any]:
    complete = [
        t for t in counted(search.optuna_study.get_trials(deepcopy=False)) if t.state == TrialState.COMPLETE
    ]
    if not complete:
        return {}
    best = max(complete, key=lambda t: (t.value, -t.number))
    return dict(best.params)
