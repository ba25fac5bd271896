"""``python -m bench.search_results <sweep dir>... --plan cpu``: the values an Optuna search chose, into the
config the quality benchmark reads (``bench/quality_lr.yaml``), and every trial into a table beside it
(``bench/results/search_<plan>.md`` / ``.json``).

A sweep dir is what ``python -m src.train -m hparams_search=<method> ...`` wrote: the sweeper's
``optimization_results.yaml`` (best parameters and value) and one directory per trial with its
``results.json`` (resolved config, validation metrics on the search split, error if it failed).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

import yaml
from omegaconf import OmegaConf

from src.atomic import write_text_atomic
from src.config import ROOT
from src.results import read_results
from src.train import objective

from . import common
from .common import write_table

LR_FILE = Path(__file__).parent / "quality_lr.yaml"
HEADER = (
    "# Written by `python -m bench.search_results` (bench/search.py runs it after each search); read by\n"
    "# `python -m bench.quality`. plan -> backbone -> task -> method -> the overrides the search chose,\n"
    "# its objective (primary metric on the search split: training rows held out, never the dev set),\n"
    "# and where the trials are. The table of every trial: bench/results/search_<plan>.md\n"
)


def lookup(config: dict[str, Any], dotted: str) -> Any:
    for key in dotted.split("."):
        config = config.get(key, {}) if isinstance(config, dict) else {}
    return config if config != {} else None


def read_sweep(sweep_dir: Path, row: str | None = None) -> dict[str, Any]:
    """The best parameters and one record per trial of one search. ``row``: the plan row searched (two rows
    can share an adapter, e.g. krona and krona_terms2); by default the part of the directory's name after
    ``<backbone>-<task>-`` (how bench.search names it), else the adapter's name."""
    best_file = sweep_dir / "optimization_results.yaml"
    if not best_file.exists():
        raise SystemExit(f"error: {best_file} not found: the search in {sweep_dir} did not finish; rerun it.")
    best = OmegaConf.to_container(OmegaConf.load(best_file))
    searched = list(best["best_params"])
    trials = []
    for job in sorted((p for p in sweep_dir.iterdir() if (p / "results.json").exists()), key=_job_number):
        results = read_results(job)
        config = results.get("config", {})
        trials.append({
            "trial": _job_number(job),
            "backbone": lookup(config, "backbone.name"), "task": lookup(config, "task.name"),
            "method": row or _row_of(sweep_dir, config),
            **{name: lookup(config, name) for name in searched},
            "objective": objective(results),
            "metric": next(iter(results.get("metrics", {}).get("validation", {})), None),
            "failed": results["error"]["type"] if "error" in results else None,
            "step_ms": (results.get("train_speed") or {}).get("step_ms"),
            "minutes": results.get("wall_time_s", 0) / 60,
        })  # fmt: skip
    if not trials:
        raise SystemExit(f"error: no trial directory with results.json in {sweep_dir}.")
    for trial in trials:
        trial["best"] = (
            True if all(trial[name] == value for name, value in best["best_params"].items()) else None
        )
    first = trials[0]
    return {
        "backbone": first["backbone"], "task": first["task"], "method": first["method"],
        "params": best["best_params"], "objective": best["best_value"], "metric": first["metric"],
        "trials": len(trials), "failed": sum(t["failed"] is not None or t["objective"] is None for t in trials),
        "sweep": _shown(sweep_dir), "trial_rows": trials,
    }  # fmt: skip


def _row_of(sweep_dir: Path, config: dict[str, Any]) -> str:
    prefix = f"{lookup(config, 'backbone.name')}-{lookup(config, 'task.name')}-"
    return sweep_dir.name.removeprefix(prefix) if sweep_dir.name.startswith(prefix) else lookup(config, "adapter.name")


def _shown(path: Path) -> str:
    """Relative to the repository when inside it (the file is committed), else as given."""
    resolved = path.resolve()
    return str(resolved.relative_to(ROOT)) if resolved.is_relative_to(ROOT) else str(path)


def _job_number(job: Path) -> int:
    head = job.name.split("-", 1)[0]
    return int(head) if head.isdigit() else -1


def load_lr_file(path: Path | None = None) -> dict[str, Any]:
    path = path or LR_FILE
    return (yaml.safe_load(path.read_text()) or {}) if path.exists() else {}


def searched_overrides(
    plan: str, backbone: str, task: str, method: str, path: Path | None = None
) -> list[str] | None:
    """``["optim.lr=...", ...]`` the search chose for this plan/backbone/task/method, or None."""
    entry = load_lr_file(path).get(plan, {}).get(backbone, {}).get(task, {}).get(method)
    return [f"{name}={value}" for name, value in entry["params"].items()] if entry else None


def record(plan: str, sweeps: list[dict[str, Any]], path: Path | None = None) -> Path:
    """Merge the searches' choices into the learning-rate file (atomically), keeping other entries."""
    data = load_lr_file(path)
    for sweep in sweeps:
        entry = {k: sweep[k] for k in ("params", "objective", "metric", "trials", "failed", "sweep")}
        data.setdefault(plan, {}).setdefault(sweep["backbone"], {}).setdefault(sweep["task"], {})[
            sweep["method"]
        ] = entry
    return write_text_atomic(path or LR_FILE, HEADER + yaml.safe_dump(data, sort_keys=True))


def earlier_sweeps(plan: str, sweeps: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The searches already in ``search_<plan>.json`` that these do not redo: a plan searched a few rows at a
    time (one call per session) keeps one table of every search."""
    path = common.RESULTS_DIR / f"search_{plan}.json"
    if not path.exists():
        return []
    earlier = json.loads(path.read_text())
    new = {_key(sweep) for sweep in sweeps}
    kept = [sweep for sweep in earlier.get("sweeps", []) if _key(sweep) not in new]
    trials = [trial for trial in earlier.get("rows", []) if _key(trial) not in new]
    return [{**sweep, "trial_rows": [t for t in trials if _key(t) == _key(sweep)]} for sweep in kept]


def _key(record: dict[str, Any]) -> tuple[str, str, str]:
    return record["backbone"], record["task"], record["method"]


def write_search_table(plan: str, sweeps: list[dict[str, Any]]) -> Path:
    sweeps = sorted([*earlier_sweeps(plan, sweeps), *sweeps], key=_key)
    rows = [trial for sweep in sweeps for trial in sweep["trial_rows"]]
    searched = sorted({name for sweep in sweeps for name in sweep["params"]})
    columns = [
        "backbone",
        "task",
        "method",
        "trial",
        *searched,
        "metric",
        "objective",
        "best",
        "failed",
        "step_ms",
        "minutes",
    ]
    notes = [
        f"plan {plan}: Optuna (TPE) over {', '.join(searched)}; objective = the task's primary metric on the "
        "search split (training rows held out; the dev set is never read); failed = diverged or error",
        "sweeps: " + ", ".join(sweep["sweep"] for sweep in sweeps),
    ]
    return write_table(f"search_{plan}", f"Learning-rate search ({plan} plan)", rows, columns, notes, sweeps=[
        {k: v for k, v in sweep.items() if k != "trial_rows"} for sweep in sweeps
    ])  # fmt: skip


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("sweep_dirs", nargs="+", type=Path)
    parser.add_argument("--plan", default="cpu", help="the quality plan these searches were sized for")
    args = parser.parse_args(argv)
    sweeps = [read_sweep(d) for d in args.sweep_dirs]
    print(f"wrote {record(args.plan, sweeps)} and {write_search_table(args.plan, sweeps)}")


if __name__ == "__main__":
    main()
