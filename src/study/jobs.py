"""A study's jobs: each one ``src.train`` run, named by what it is (backbone, task, row, seed, and for a
search trial the values tried), with the overrides that make it and the identity of what it computes."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

from .compose import train_config, train_config_with
from .identity import identity
from .settings import StudySettings

SEARCH_DIR, RUNS_DIR = "search", "runs"
FIRST_TRIAL_SEED = 42  # a trial's seeds: src.train's default seed and the ones after it


@dataclass(frozen=True)
class Job:
    run_dir: Path
    base: tuple[str, ...]  # the row's overrides (groups and values)
    values: tuple[str, ...]  # this job's own: seed, searched values, split, paths.output_dir (plain keys)
    backbone: str
    task: str
    row: str
    seed: int

    @property
    def overrides(self) -> tuple[str, ...]:
        """What ``python -m src.train`` is given."""
        return (*self.base, *self.values)

    @cached_property
    def identity(self) -> str:
        return identity(train_config_with(self.base, self.values))


def hidden_size(backbone: str) -> int:
    config = train_config((f"backbone={backbone}", "paths.output_dir=/tmp")).backbone.config
    return int(config.get("hidden_size") or config.get("d_model"))


def lokr_factor(d: int) -> int:
    """PEFT LoKr's decompose_factor f for a d x d layer (w1 f x f, w2 d/f x d/f) nearest 8d parameters."""
    divisors = [f for f in range(1, d + 1) if d % f == 0 and f * f >= d]
    return min(divisors, key=lambda f: abs(f * f + (d // f) ** 2 - 8 * d))


def size_overrides(overrides: list[str], backbone: str) -> list[str]:
    d = hidden_size(backbone)
    f = lokr_factor(d)
    sizes = {"d": d, "8d": 8 * d, "16d": 16 * d, "f": f, "d_f": d // f}
    return [o.format(**sizes) for o in overrides]


def row_overrides(
    study: StudySettings, backbone: str, task: str, row: str, passthrough: list[str]
) -> list[str]:
    """What every run of this row sets, search trial and seed run alike; the command line's last."""
    settings = study.rows[row]
    overrides = [
        f"backbone={backbone}", f"adapter={settings.adapter}", f"task={task}", f"trainer.max_epochs={study.epochs}",
        *size_overrides(list(settings.overrides), backbone), *study.overrides, *study.task_overrides.get(task, []),
        *size_overrides(list(settings.task_overrides.get(task, [])), backbone),
    ]  # fmt: skip
    if study.max_train_samples:
        overrides.append(f"data.max_train_samples={study.max_train_samples}")
    if study.max_length:
        overrides.append(f"data.max_length={study.max_length}")
    if study.epochs == 1:  # the score after the one epoch is the result; testing would score it again
        overrides.append("test=false")
    return [*overrides, *passthrough]


def value_text(value: Any) -> str:
    return f"{value:.4g}" if isinstance(value, float) else str(value)


def trial_dir(study: StudySettings, key: str, params: dict[str, Any], seed: int) -> Path:
    """``search/<search name>/lr0.004848-<hash>-seed42``: readable, and unique per values."""
    short = "-".join(f"{name.split('.')[-1]}{value_text(value)}" for name, value in sorted(params.items()))
    digest = hashlib.sha1(json.dumps(params, sort_keys=True).encode()).hexdigest()[:6]
    return Path(study.dir) / SEARCH_DIR / key / f"{short}-{digest}-seed{seed}"


def search_key(backbone: str, task: str, row: str) -> str:
    return f"{backbone}-{task}-{row}"


def search_space_of(study: StudySettings, row: str) -> dict[str, str]:
    """What a row's search tries: the study's space, the keys its method declares searching
    (src.adapters.search_space: KronA^B's scale, ...), then the row's own."""
    from src.adapters import search_space

    return {**study.search.space, **search_space(study.rows[row].adapter), **study.rows[row].space}


def search_name(study: StudySettings, backbone: str, task: str, row: str, passthrough: list[str]) -> str:
    """``<backbone>-<task>-<row>@<digest>``: the digest of what every trial shares (the row's resolved config,
    the space, the seeds a trial), so a search is reused only for the same question, and a changed row
    (another method function, budget or space) is searched afresh beside the old one."""
    values = trial_values(study, {}, FIRST_TRIAL_SEED, Path("/"))
    probe = identity(train_config_with(row_overrides(study, backbone, task, row, passthrough), values))
    space = search_space_of(study, row)
    text = json.dumps([probe, space, study.search.seeds_per_trial], sort_keys=True)
    return f"{search_key(backbone, task, row)}@{hashlib.sha1(text.encode()).hexdigest()[:8]}"


def trial_values(study: StudySettings, params: dict[str, Any], seed: int, run_dir: Path) -> list[str]:
    return [
        "data.split_protocol=search", f"data.search_validation_rows={study.search.validation_rows}",
        *(f"{name}={value}" for name, value in params.items()), f"seed={seed}", f"paths.output_dir={run_dir}",
    ]  # fmt: skip


def trial_jobs(
    study: StudySettings,
    backbone: str,
    task: str,
    row: str,
    params: dict[str, Any],
    passthrough: list[str],
    name: str,
) -> list[Job]:
    """A trial's runs: one per seed, trained on the training rows minus a held-out slice, scored on it."""
    jobs = []
    for seed in range(FIRST_TRIAL_SEED, FIRST_TRIAL_SEED + study.search.seeds_per_trial):
        run_dir = trial_dir(study, name, params, seed)
        values = trial_values(study, params, seed, run_dir)
        base = row_overrides(study, backbone, task, row, passthrough)
        jobs.append(Job(run_dir, tuple(base), tuple(values), backbone, task, row, seed))
    return jobs


def seed_jobs(
    study: StudySettings, chosen: dict[tuple[str, str, str], dict[str, Any]], passthrough: list[str]
) -> list[Job]:
    """Every (backbone, task, row, seed) run at the values its search chose (``chosen``, keyed by the row
    searched: a parity row takes its twin's optimiser settings), on the official dev set."""
    jobs = []
    for backbone in study.backbones:
        for task in study.tasks:
            for row in study.rows_for(task):
                source = study.rows[row].lr_from or row
                params = chosen.get((backbone, task, source), {})
                if study.rows[row].lr_from:
                    params = {k: v for k, v in params.items() if k.startswith("optim.")}
                for seed in study.seeds(row):
                    run_dir = Path(study.dir) / RUNS_DIR / f"{search_key(backbone, task, row)}-seed{seed}"
                    values = [
                        *(f"{name}={value}" for name, value in params.items()), f"seed={seed}",
                        f"data.split_protocol={study.split_protocol}", f"paths.output_dir={run_dir}",
                    ]  # fmt: skip
                    base = row_overrides(study, backbone, task, row, passthrough)
                    jobs.append(Job(run_dir, tuple(base), tuple(values), backbone, task, row, seed))
    return jobs
