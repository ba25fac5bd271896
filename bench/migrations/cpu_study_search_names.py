"""One-off (run once, 2026-12-01, kept as the record): the cpu study's searches renamed from
``<backbone>-<task>-<row>`` to src.study's ``<backbone>-<task>-<row>@<digest>`` (the digest of what every
trial of the search computes), with their trial folders. A search whose trials no longer compute what the
row does today (Pfeiffer and PA, since adapter-hub's wiring became their default) becomes
``<name>@superseded`` and is kept for the record; the study searches those rows afresh.

    python -m bench.migrations.cpu_study_search_names
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import optuna

from src.config import ROOT
from src.record import read_record
from src.study.compose import compose_study
from src.study.identity import identity
from src.study.jobs import FIRST_TRIAL_SEED, search_key, search_name, seed_jobs, trial_jobs
from src.study.search import searched_rows
from src.study.storage import open_storage


def main() -> None:
    study = compose_study(["study=cpu"])
    path = Path(study.search.storage.removeprefix("journal:"))
    old = open_storage(study)
    fresh_path = path.with_suffix(".new")
    fresh = optuna.storages.JournalStorage(optuna.storages.journal.JournalFileBackend(str(fresh_path)))
    for backbone, task, row in searched_rows(study):
        key = search_key(backbone, task, row)
        name = search_name(study, backbone, task, row, [])
        legacy = optuna.load_study(study_name=key, storage=old)
        trial = next((t for t in legacy.trials if t.user_attrs["run_dirs"]), None)
        if trial is not None:
            (run_dir,) = trial.user_attrs["run_dirs"]
            stored = identity(read_record(ROOT / run_dir).config)
            (job,) = trial_jobs(study, backbone, task, row, trial.params, [], name)
        else:  # SST-2 KronA's trial folders were never committed: its seed runs tell what the row computed
            chosen = {(backbone, task, row): max(legacy.trials, key=lambda t: t.value).params}
            job = next(j for j in seed_jobs(study, chosen, []) if j.row == row and j.task == task)
            stored = identity(read_record(job.run_dir).config)
        target = name if stored == job.identity else f"{key}@superseded"
        moved = optuna.create_study(storage=fresh, study_name=target, direction="maximize")
        for attr, value in legacy.user_attrs.items():
            moved.set_user_attr(attr, value)
        moved.set_user_attr("seeds_per_trial", 1)
        for t in legacy.trials:  # run folders relative to the study folder, under the new name
            dirs = [f"search/{target}/{Path(d).name}" for d in t.user_attrs["run_dirs"]]
            moved.add_trial(optuna.trial.create_trial(params=t.params, distributions=t.distributions, value=t.value,
                                                      state=t.state, user_attrs={**t.user_attrs, "run_dirs": dirs}))  # fmt: skip
        source = Path(study.dir) / "search" / key
        if source.exists():
            subprocess.run(
                ["git", "mv", str(source), str(Path(study.dir) / "search" / target)], cwd=ROOT, check=True
            )
        print(f"{key} -> {target}")
    fresh_path.replace(path)


if __name__ == "__main__":
    assert FIRST_TRIAL_SEED == 42
    main()
