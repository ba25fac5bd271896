"""``python -m src.report <dirs...>``: every results.json under the given run/multirun directories in one table.

One row per method x backbone x task x setting (whatever else differs between the runs, e.g. factor shapes or
the learning rate), each metric as mean ± std over seeds, with trainable parameters, latency ratio and train
step time. ``--paper`` adds the papers' numbers (SPEC §6) and the difference. Writes report.csv and report.md.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from src.paper_results import GLUE_TASKS, PAPER_METRIC, reference
from src.results import RESULTS_FILE, read_results

log = logging.getLogger(__name__)

GROUP = ["backbone", "method", "task", "setting"]
# Config keys that never make two runs different experiments (seeds are averaged, paths are per run).
NOT_A_SETTING = (
    "seed",
    "paths.",
    "data.glue_dir",
    "ckpt_path",
    "logger.",
    "callbacks.",
    "kron_shapes",
    "adakron_dims",
)


def find_runs(dirs: Iterable[str | Path]) -> list[Path]:
    """Every directory holding a results.json, at any depth under ``dirs``."""
    runs = []
    for directory in map(Path, dirs):
        if not directory.exists():
            raise FileNotFoundError(
                f"{directory} does not exist: pass run or multirun directories (e.g. logs/multiruns/...)."
            )
        runs += sorted(p.parent for p in directory.rglob(RESULTS_FILE))
    return runs


def flat(tree: Any, prefix: str = "") -> dict[str, Any]:
    """``{"a": {"b": [1, 2]}}`` -> ``{"a.b": "[1, 2]"}``: hashable leaves for comparing configs."""
    if isinstance(tree, dict):
        return {k: v for key, value in tree.items() for k, v in flat(value, f"{prefix}{key}.").items()}
    return {prefix[:-1]: json.dumps(tree) if isinstance(tree, list) else tree}


def run_row(run_dir: Path, results: dict[str, Any]) -> dict[str, Any]:
    config = results.get("config", {})
    params = results.get("params", {})
    row: dict[str, Any] = {
        "run_dir": str(run_dir),
        "backbone": config.get("backbone", {}).get("name"),
        "method": config.get("adapter", {}).get("name"),
        "task": config.get("task", {}).get("name"),
        "seed": config.get("seed"),
        "trainable": params.get("trainable"),
        "trainable_pct": params.get("trainable_pct_of_backbone", params.get("trainable_pct")),
        "latency_ratio": (results.get("latency") or {}).get("ratio"),
        "step_ms": (results.get("train_speed") or {}).get("step_ms"),
        "adapter": config.get("adapter", {}),
    }
    for stage, prefix in (("validation", "val"), ("test", "test")):
        for name, value in (results.get("metrics", {}).get(stage) or {}).items():
            row[f"{prefix}/{name}"] = value
    row["score"] = score_of(row, results)
    row["_config"] = flat(config)
    return row


def score_of(row: dict[str, Any], results: dict[str, Any]) -> float | None:
    """The number the papers report for this run, in percent: their metric on test (else validation)."""
    metrics = results.get("metrics", {})
    scores = metrics.get("test") or metrics.get("validation") or {}
    if not scores:
        return None
    name = PAPER_METRIC.get((row["backbone"], row["task"]))
    value = scores.get(name) if name in scores else next(iter(scores.values()))
    # null: undefined (e.g. the correlation of a constant prediction)
    return None if value is None else 100.0 * value


def settings(rows: pd.DataFrame) -> pd.Series:
    """What differs between runs of the same method, backbone and task besides the seed, as one label."""
    labels = pd.Series("", index=rows.index)
    for _, group in rows.groupby(["backbone", "method", "task"], dropna=False):
        configs = pd.DataFrame(list(group["_config"]), index=group.index)
        varying = [
            c
            for c in configs.columns
            if not c.startswith(NOT_A_SETTING) and configs[c].astype(str).nunique() > 1
        ]
        for idx in group.index:
            labels[idx] = " ".join(
                f"{c.removeprefix('adapter.')}={configs.at[idx, c]}" for c in sorted(varying)
            )
    return labels


def collect(dirs: Iterable[str | Path]) -> pd.DataFrame:
    """One row per finished run (failed runs, whose results.json has ``error``, are left out with a warning)."""
    rows = []
    for run_dir in find_runs(dirs):
        results = read_results(run_dir)
        if "error" in results:
            log.warning("skipping failed run %s: %s", run_dir, results["error"].get("message"))
            continue
        rows.append(run_row(run_dir, results))
    if not rows:
        raise ValueError(f"no finished runs ({RESULTS_FILE} without an error) under {list(map(str, dirs))}.")
    runs = pd.DataFrame(rows)
    runs["setting"] = settings(runs)
    return runs


def summarise(runs: pd.DataFrame, with_paper: bool = False) -> pd.DataFrame:
    """Mean and std over seeds per method x backbone x task x setting (``<metric>`` and ``<metric>_std``)."""
    metrics = [c for c in runs.columns if c.startswith(("val/", "test/"))]
    numeric = ["trainable", "trainable_pct", "latency_ratio", "step_ms", "score", *metrics]
    numbers = runs[GROUP + numeric].copy()
    numbers[numeric] = numbers[numeric].apply(pd.to_numeric, errors="coerce")
    grouped = numbers.groupby(GROUP, dropna=False, sort=True)
    table = grouped[numeric].mean()
    # One seed's undefined metric (null in its results.json) makes the mean undefined, not the mean of the rest.
    table[[*metrics, "score"]] = grouped[[*metrics, "score"]].mean(skipna=False)
    stds = grouped[[*metrics, "score"]].std(ddof=1).add_suffix("_std")
    table = table.join(stds)
    table.insert(0, "seeds", grouped.size())
    table = table.reset_index()
    if with_paper:
        adapters = runs.groupby(GROUP, dropna=False, sort=True)["adapter"].first().reset_index(drop=True)
        table["paper"] = [
            reference(r.backbone, r.method, r.task, adapter)
            for r, adapter in zip(table.itertuples(), adapters, strict=True)
        ]
        table = pd.concat([table, glue_averages(table)], ignore_index=True)
        table["diff"] = table["score"] - table["paper"]
    return table


def glue_averages(table: pd.DataFrame) -> pd.DataFrame:
    """An ``avg`` row per method x backbone x setting that has all eight GLUE tasks, beside the paper's average."""
    rows = []
    for (backbone, method, setting), group in table.groupby(["backbone", "method", "setting"], dropna=False):
        if set(GLUE_TASKS) <= set(group["task"]):
            scores = group[group["task"].isin(GLUE_TASKS)]["score"]
            rows.append(
                {
                    "backbone": backbone,
                    "method": method,
                    "task": "avg",
                    "setting": setting,
                    "seeds": int(group["seeds"].min()),
                    "score": scores.mean(skipna=False),
                    "paper": reference(backbone, method, "avg"),
                }
            )
    return pd.DataFrame(rows)


def to_markdown(table: pd.DataFrame) -> str:
    """Metrics as ``mean ± std``; parameters, latency and step time rounded."""
    shown = table[[c for c in table.columns if not c.endswith("_std")]].copy()
    for column in shown.columns:
        if f"{column}_std" in table.columns:
            shown[column] = [
                "" if pd.isna(m) else f"{m:.4g}" if pd.isna(s) else f"{m:.4g} ± {s:.2g}"
                for m, s in zip(table[column], table[f"{column}_std"], strict=True)
            ]
    return shown.to_markdown(index=False, floatfmt=".4g")


def write(table: pd.DataFrame, out_dir: Path) -> tuple[Path, Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    csv_path, md_path = out_dir / "report.csv", out_dir / "report.md"
    table.to_csv(csv_path, index=False)
    md_path.write_text(to_markdown(table) + "\n")
    return csv_path, md_path


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "dirs", nargs="+", help="run or multirun directories (searched recursively for results.json)"
    )
    parser.add_argument(
        "--out", type=Path, default=None, help="where report.csv and report.md go (default: first dir)"
    )
    parser.add_argument(
        "--paper", action="store_true", help="add the papers' numbers (SPEC §6) and the difference"
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    try:
        table = summarise(collect(args.dirs), with_paper=args.paper)
    except (FileNotFoundError, ValueError) as error:
        parser.exit(2, f"error: {error}\n")
    csv_path, md_path = write(table, args.out or Path(args.dirs[0]))
    sys.stdout.write(to_markdown(table) + "\n")
    log.info("wrote %s and %s", csv_path, md_path)


if __name__ == "__main__":
    main()
