"""What a study is (``conf/study/<name>.yaml``): backbones, tasks, method rows at a matched budget, seeds,
the training budget, the search, the claims and parity pairs. Types and ranges here, values in the YAML."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from src.fields import check_settings, setting


@dataclass
class RowSettings:
    """One method row: an adapter with its size settings. ``{d}``, ``{8d}``, ``{16d}``, ``{f}`` and
    ``{d_f}`` in ``overrides`` are the backbone's hidden size, its multiples, and PEFT LoKr's factor of d."""

    adapter: str = "???"
    label: str = ""  # how tables and figures name the row (default: the row's key)
    claim: bool = False  # a claim names it: it gets the claim seeds
    overrides: list[str] = field(default_factory=list)
    space: dict[str, str] = field(default_factory=dict)  # more searched keys, or another range, for this row
    lr_from: str | None = None  # not searched: train at that row's chosen optimiser settings (parity rows)
    tasks: list[str] | None = None  # None: every task of the study
    task_overrides: dict[str, list[str]] = field(default_factory=dict)  # task -> more overrides (e.g. shapes)


@dataclass
class SearchSettings:
    """One Optuna study per (backbone, task, searched row), in ``storage``, scored on training rows held out
    from training (``data.split_protocol=search``), never the dev set the report shows."""

    trials: int = setting(8, ge=1)
    startup_trials: int = setting(6, ge=0)  # random trials before TPE models the space
    seed: int = setting(1234, ge=0)
    seeds_per_trial: int = setting(1, ge=1)  # a trial's score: the median over this many seeds
    batch: int = setting(2, ge=1)  # trials asked for and launched at once
    validation_rows: int = setting(1000, ge=1)
    # null: SQLite in the study folder; any SQLAlchemy URL (postgresql://...); journal:<file> for
    # Optuna's journal storage on a shared filesystem
    storage: str | None = None
    # a trial whose worker stopped sending heartbeats this long ago is failed and retried (RDB storages)
    heartbeat_s: int = setting(30, ge=1)
    grace_s: int = setting(120, ge=1)
    space: dict[str, str] = field(default_factory=lambda: {"optim.lr": "tag(log, interval(1e-4, 5e-2))"})


@dataclass
class ClaimSettings:
    name: str = "???"
    source: str = ""
    better: str = "???"  # the row expected to score higher
    worse: str = "???"


@dataclass
class StudySettings:
    name: str = "???"
    dir: str = "${paths.log_dir}/studies/${study.name}"  # searches, runs and the report land here
    report: str | None = None  # null: <dir>/report(.md/.json); else this path without suffix
    backbones: list[str] = field(default_factory=list)
    tasks: list[str] = field(default_factory=list)
    rows: dict[str, RowSettings] = field(default_factory=dict)
    claim_seeds: list[int] = field(default_factory=lambda: [1, 2, 3, 4, 5])
    other_seeds: list[int] = field(default_factory=lambda: [1, 2, 3])
    epochs: int = setting(1, ge=1)
    max_train_samples: int | None = setting(None, ge=1)  # null: every training row
    max_length: int | None = setting(None, ge=8)  # null: each task's own
    overrides: list[str] = field(default_factory=list)  # for every run of the study
    task_overrides: dict[str, list[str]] = field(default_factory=dict)  # task -> more, for every row
    split_protocol: str = setting("glue", choices=["glue", "compacter"])  # the seed runs' (SPEC section 4)
    search: SearchSettings = field(default_factory=SearchSettings)
    claims: list[ClaimSettings] = field(default_factory=list)
    parity: list[list[str]] = field(default_factory=list)  # [kronlab row, reference-library row]
    jobs: int = setting(2, ge=1)  # runs side by side through a local launcher (joblib, submitit local)
    retries: int = setting(2, ge=0)  # a run that failed is launched again by this many later invocations
    threads: int | None = setting(1, ge=1)  # torch threads a job uses on a CPU (null: torch's default)
    # this invocation: every stage, or only the searches (e.g. several search workers on one storage), only
    # the seed runs at the values the storage holds, or only the report
    stage: str = setting("all", choices=["all", "search", "runs", "report"])
    select_rows: list[str] | None = None  # run only these rows this time (null: every row)
    dry_run: bool = False  # print what each launch would send (jobs, command) and train nothing

    def rows_for(self, task: str) -> list[str]:
        chosen = self.select_rows if self.select_rows is not None else list(self.rows)
        return [name for name, row in self.rows.items()
                if name in chosen and (row.tasks is None or task in row.tasks)]  # fmt: skip

    def seeds(self, row: str) -> list[int]:
        return list(self.claim_seeds if self.rows[row].claim else self.other_seeds)

    def label(self, row: str) -> str:
        return self.rows[row].label or row


def check_study(study: Any) -> None:
    """Ranges, then what the fields must agree on, each as one line with the fix."""
    from src.errors import ConfigError

    check_settings(study, "study", StudySettings)
    check_settings(study.search, "study.search", SearchSettings)
    if not study.rows:
        raise ConfigError(f"study {study.name} has no rows: add study.rows.<name>.adapter=<method>.")
    for name, row in study.rows.items():
        if row.lr_from is not None and row.lr_from not in study.rows:
            raise ConfigError(
                f"study.rows.{name}.lr_from={row.lr_from!r}: no such row; choose one of {list(study.rows)}."
            )
        for task in row.tasks or []:
            if task not in study.tasks:
                raise ConfigError(
                    f"study.rows.{name}.tasks names {task!r}, not a task of the study {list(study.tasks)}."
                )
    for name in study.select_rows or []:
        if name not in study.rows:
            raise ConfigError(f"study.select_rows names {name!r}; the study's rows are {list(study.rows)}.")
    for claim in [*study.claims]:
        for side in (claim.better, claim.worse):
            if side not in study.rows:
                raise ConfigError(
                    f"claim {claim.name!r} names row {side!r}; the study's rows are {list(study.rows)}."
                )
    for pair in study.parity:
        if len(pair) != 2 or any(side not in study.rows for side in pair):
            raise ConfigError(
                f"study.parity entry {list(pair)}: give [kronlab row, reference row], both rows of the study."
            )
