"""One-off (run once, 2026-12-01, kept as the record of how the cpu study's files were made): the committed
runs and searches of the retired ``bench.quality`` / ``bench.search`` cpu plan, moved into the layout of
``python -m src.study study=cpu``:

- seed runs ``bench/results/quality_runs/cpu/<key>-seed<k>`` -> ``bench/results/studies/cpu/runs/`` (same names);
- every search trial (``bench/results/search_cpu.json``, the table of all trials, in trial order) added to the
  study's Optuna journal with its values and score; trial folders moved to ``studies/cpu/search/<key>/``
  under the names src.study gives them (the SST-2 KronA search's folders were never committed: its ten
  trials come from the table alone).

    python -m bench.migrations.cpu_study_from_plans
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import optuna
import yaml

from src.config import ROOT
from src.study.compose import compose_study
from src.study.jobs import FIRST_TRIAL_SEED, search_key, trial_dir
from src.study.space import distributions
from src.study.storage import open_storage

RESULTS = ROOT / "bench" / "results"


def git_mv(source: Path, target: Path) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    subprocess.run(["git", "mv", str(source), str(target)], cwd=ROOT, check=True)


def main() -> None:
    study = compose_study(["study=cpu"])
    runs = Path(study.dir) / "runs"
    for old in sorted((RESULTS / "quality_runs" / "cpu").iterdir()):
        git_mv(old, runs / old.name)
    storage = open_storage(study)
    table = json.loads((RESULTS / "search_cpu.json").read_text())["rows"]
    for key in dict.fromkeys((r["backbone"], r["task"], r["method"]) for r in table):
        backbone, task, row = key
        space = {**study.search.space, **study.rows[row].space}
        dists = distributions(space)
        name = search_key(*key)
        optuna_study = optuna.create_study(storage=storage, study_name=name, direction="maximize")
        optuna_study.set_user_attr("space", space)
        optuna_study.set_user_attr(
            "imported_from", "bench.search (hydra-optuna-sweeper 1.3, Optuna 2.10, in memory)"
        )
        sweep = RESULTS / "search_runs" / "cpu" / name
        for index, trial in enumerate(sorted((r for r in table if (r["backbone"], r["task"], r["method"]) == key),
                                             key=lambda r: r["trial"])):  # fmt: skip
            params = {p: trial[p] for p in space}
            old = next((d for d in sweep.glob(f"{trial['trial']}-*") if (d / "results.json").exists()), None)
            new = trial_dir(study, name, params, FIRST_TRIAL_SEED)
            if old is not None:
                assert yaml.safe_load((old / ".hydra" / "overrides.yaml").read_text()), old
                git_mv(old, new)
            value = trial["objective"]
            optuna_study.add_trial(optuna.trial.create_trial(
                params=params, distributions={p: dists[p] for p in params}, value=value,
                state=optuna.trial.TrialState.COMPLETE if value is not None else optuna.trial.TrialState.FAIL,
                user_attrs={"index": index, "run_dirs": [str(new.relative_to(ROOT))] if old is not None else [],
                            "legacy_trial": trial["trial"]},
            ))  # fmt: skip
        print(f"{name}: {len(optuna_study.trials)} trials")


if __name__ == "__main__":
    main()
