"""``python -m src.report <dirs...>``: every results.json under the given run/multirun directories in one table.

One row per method x backbone x task x setting (whatever else differs between the runs, e.g. factor shapes or
the learning rate), each metric as mean ± std over seeds, with trainable parameters (with and without the
classifier head), the latency ratio (with its per-repeat range and protocol) and the median train step time
(with its quartiles and how many steps were timed). ``--paper`` adds the papers' numbers (SPEC §6) and the
difference. Writes report.csv and report.md; ``--figures`` also writes the analysis figures (src.figures).
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from src.paper_results import GLUE_TASKS, PAPER_METRIC, reference
from src.record import RESULTS_FILE, RunRecord, read_record
from src.run_labels import (
    NOT_A_SETTING,
    SHAPE_KEYS,
    base_label,
    distinct_labels,
    resolved_shapes,
    row_labels,
    shapes_text,
)

log = logging.getLogger(__name__)

GROUP = ["backbone", "method", "task", "setting"]
# Averaged over the seeds of a row (parameter counts are the same for every seed).
MEAN_OVER_SEEDS = (
    "trainable_with_head",
    "trainable_without_head",
    "trainable_pct_without_head",
    "latency_ratio",
    "step_ms_median",
    "step_ms_p25",
    "step_ms_p75",
)
# Spread columns: the widest range over the seeds; steps_timed: the fewest.
SPREAD_OVER_SEEDS = ("latency_ratio_lo", "latency_ratio_hi", "steps_timed")


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


def run_row(run_dir: Path, record: RunRecord) -> dict[str, Any]:
    config = record.config
    row: dict[str, Any] = {
        "run_dir": str(run_dir),
        "backbone": config.get("backbone", {}).get("name"),
        "method": config.get("adapter", {}).get("name"),
        "task": config.get("task", {}).get("name"),
        "seed": config.get("seed"),
        **parameter_columns(record.section("params")),
        **latency_columns(record.section("latency")),
        **step_time_columns(record.section("train_speed")),
        "adapter": config.get("adapter", {}),
    }
    pairs = resolved_shapes(record)
    row["shapes"] = shapes_text(pairs) if pairs else None
    row["label"] = base_label(config, row["shapes"])
    for stage, prefix in (("validation", "val"), ("test", "test")):
        for name, value in record.scores(stage).items():
            row[f"{prefix}/{name}"] = value
    row["score"] = score_of(row, record)
    row["_config"] = flat(config)
    return row


def parameter_columns(params: dict[str, Any]) -> dict[str, Any]:
    """Trainable parameters with the classifier head and without it (the papers count without), and the
    percentage of the backbone without the head (the papers' convention)."""
    return {
        "trainable_with_head": params.get("trainable"),
        "trainable_without_head": params.get("trainable_without_head"),
        "trainable_pct_without_head": params.get("trainable_pct_of_backbone"),
    }


def latency_columns(latency: dict[str, Any]) -> dict[str, Any]:
    """Mean ratio to the bare backbone, the range of its per-repeat ratios, and the protocol that measured it."""
    return {
        "latency_ratio": latency.get("ratio"),
        "latency_ratio_lo": latency.get("ratio_min"),
        "latency_ratio_hi": latency.get("ratio_max"),
        "latency_protocol": latency.get("protocol"),
    }


def step_time_columns(speed: dict[str, Any]) -> dict[str, Any]:
    """The median step time over the run's timed steps, its quartiles, and how many steps were timed."""
    return {
        "step_ms_median": speed.get("step_ms"),
        "step_ms_p25": speed.get("step_ms_p25"),
        "step_ms_p75": speed.get("step_ms_p75"),
        "steps_timed": speed.get("measured_steps"),
    }


def score_of(row: dict[str, Any], record: RunRecord) -> float | None:
    """The number the papers report for this run, in percent: their metric on test (else validation)."""
    scores = record.scores("test") or record.scores("validation")
    if not scores:
        return None
    name = PAPER_METRIC.get((row["backbone"], row["task"]))
    value = scores.get(name) if name in scores else next(iter(scores.values()))
    # null: undefined (e.g. the correlation of a constant prediction)
    return None if value is None else 100.0 * value


def spread(scores: Sequence[float]) -> dict[str, float | None]:
    """Median and interquartile range over seeds (numpy's linear percentiles): the study report's numbers."""
    if not len(scores):
        return {"median": None, "iqr": None, "q25": None, "q75": None}
    q25, median, q75 = (float(v) for v in np.percentile(list(scores), [25, 50, 75]))
    return {"median": median, "iqr": q75 - q25, "q25": q25, "q75": q75}


def settings(rows: pd.DataFrame, ignore: tuple[str, ...] = ()) -> pd.Series:
    """What differs between runs of the same method, backbone and task besides the seed (and the config keys
    starting with one of ``ignore``), as one label."""
    labels = pd.Series("", index=rows.index)
    for _, group in rows.groupby(["backbone", "method", "task"], dropna=False):
        configs = pd.DataFrame(list(group["_config"]), index=group.index)
        varying = [
            c
            for c in configs.columns
            if not c.startswith((*NOT_A_SETTING, *ignore)) and configs[c].astype(str).nunique() > 1
        ]
        for idx in group.index:
            labels[idx] = " ".join(
                f"{c.removeprefix('adapter.')}={configs.at[idx, c]}" for c in sorted(varying)
            )
    return labels


def collect(dirs: Iterable[str | Path]) -> pd.DataFrame:
    """One row per finished run. Failed runs and commands refused before training are left out with a
    warning."""
    rows = []
    for run_dir in find_runs(dirs):
        record = read_record(run_dir)
        if not record.finished:
            message = record.error.message if record.error else None
            log.warning("skipping %s run %s: %s", record.status.value, run_dir, message)
            continue
        rows.append(run_row(run_dir, record))
    if not rows:
        raise ValueError(f"no finished runs ({RESULTS_FILE} without an error) under {list(map(str, dirs))}.")
    runs = pd.DataFrame(rows)
    runs["setting"] = settings(runs)
    runs["variant"] = settings(runs, ignore=(*SHAPE_KEYS, "optim."))
    runs["label"] = distinct_labels(runs)
    return runs


def summarise(runs: pd.DataFrame, with_paper: bool = False) -> pd.DataFrame:
    """Mean and std over seeds per method x backbone x task x setting (``<metric>`` and ``<metric>_std``)."""
    metrics = [c for c in runs.columns if c.startswith(("val/", "test/"))]
    numeric = [*MEAN_OVER_SEEDS, "score", *metrics]
    as_numbers = [*numeric, *SPREAD_OVER_SEEDS]
    numbers = runs[[*GROUP, *as_numbers, "latency_protocol"]].copy()
    numbers[as_numbers] = numbers[as_numbers].apply(pd.to_numeric, errors="coerce")
    grouped = numbers.groupby(GROUP, dropna=False, sort=True)
    table = grouped[numeric].mean()
    # One seed's undefined metric (null in its results.json) makes the mean undefined, not the mean of the rest.
    table[[*metrics, "score"]] = grouped[[*metrics, "score"]].mean(skipna=False)
    stds = grouped[[*metrics, "score"]].std(ddof=1).add_suffix("_std")
    table = table.join(stds)
    table["latency_ratio_lo"] = grouped["latency_ratio_lo"].min()
    table["latency_ratio_hi"] = grouped["latency_ratio_hi"].max()
    table["latency_protocol"] = grouped["latency_protocol"].agg(
        lambda p: "/".join(sorted(set(p.dropna()))) or None
    )
    table["steps_timed"] = grouped["steps_timed"].min()
    medians = grouped["score"].agg(lambda s: spread(list(s.dropna()))).apply(pd.Series)
    table = table.join(medians.add_prefix("score_"))
    table.insert(0, "seeds", grouped.size())
    named = runs.assign(label=row_labels(runs))
    for column in ("label", "shapes", "variant"):
        if column in named:
            table[column] = named.groupby(GROUP, dropna=False, sort=True)[column].first()
    table = table.reset_index()
    if "label" in table:
        table.insert(table.columns.get_loc("setting") + 1, "label", table.pop("label"))
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
                    **({"label": group["label"].iloc[0]} if "label" in group else {}),
                    "seeds": int(group["seeds"].min()),
                    "score": scores.mean(skipna=False),
                    "paper": reference(backbone, method, "avg"),
                }
            )
    return pd.DataFrame(rows)


def _cell(value: Any) -> str:
    """Empty for a missing number (no paper value is not ``nan``), counts with separators, others to 4 digits."""
    if value is None or (isinstance(value, float) and pd.isna(value)):
        return ""
    if isinstance(value, float) and value.is_integer() and abs(value) >= 1000:
        return f"{value:,.0f}"
    return (
        f"{value:.4g}" if isinstance(value, float) else f"{value:,}" if isinstance(value, int) else str(value)
    )


def _joined(table: pd.DataFrame, fmt, columns: list[str]) -> list[str]:
    return ["" if pd.isna(row[columns[0]]) else fmt(*row[columns]) for _, row in table.iterrows()]


def to_markdown(table: pd.DataFrame) -> str:
    """Metrics as ``mean ± std`` over seeds; latency as ``ratio [per-repeat range] protocol``; step time as
    ``median [quartiles] (n steps)``; missing numbers as empty cells."""
    spread_columns = {"latency_ratio_lo", "latency_ratio_hi", "latency_protocol"}
    spread_columns |= {"step_ms_p25", "step_ms_p75", "steps_timed"}
    spread_columns |= {"shapes", "variant"}  # in the CSV for the figures; the label says both in words
    shown = table[[c for c in table.columns if not c.endswith("_std") and c not in spread_columns]].copy()
    shown = shown.astype(object)
    for column in shown.columns:
        if f"{column}_std" in table.columns:
            shown[column] = [
                "" if pd.isna(m) else f"{m:.4g}" if pd.isna(s) else f"{m:.4g} ± {s:.2g}"
                for m, s in zip(table[column], table[f"{column}_std"], strict=True)
            ]
        else:
            shown[column] = [_cell(v) for v in shown[column]]
    if "latency_ratio" in table:
        shown["latency_ratio"] = _joined(
            table,
            lambda r, lo, hi, p: f"{r:.3f} [{lo:.2f}-{hi:.2f}] {p or ''}".rstrip(),
            ["latency_ratio", "latency_ratio_lo", "latency_ratio_hi", "latency_protocol"],
        )
    if "step_ms_median" in table:
        shown["step_ms_median"] = _joined(
            table,
            lambda m, lo, hi, n: f"{m:,.0f} [{lo:,.0f}-{hi:,.0f}] ({n:.0f} step{'s' if n != 1 else ''})",
            ["step_ms_median", "step_ms_p25", "step_ms_p75", "steps_timed"],
        )
    shown = shown.rename(
        columns={
            "latency_ratio": "latency ratio [per-repeat range] protocol",
            "step_ms_median": "step ms median [quartiles] (timed steps)",
            "trainable_with_head": "trainable (with head)",
            "trainable_without_head": "trainable (without head)",
            "trainable_pct_without_head": "% of backbone (without head)",
        }
    )
    return shown.to_markdown(index=False, disable_numparse=True)


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
    parser.add_argument(
        "--figures",
        action="store_true",
        help="also write the analysis figures (PNG, the notebook's) into <out>/figures, with the papers' numbers",
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    try:
        runs = collect(args.dirs)
    except (FileNotFoundError, ValueError) as error:
        parser.exit(2, f"error: {error}\n")
    table = summarise(runs, with_paper=args.paper)
    out = args.out or Path(args.dirs[0])
    csv_path, md_path = write(table, out)
    sys.stdout.write(to_markdown(table) + "\n")
    log.info("wrote %s and %s", csv_path, md_path)
    if args.figures:
        from src.figures import write_figures  # matplotlib only when figures are asked for

        for path in write_figures(summarise(runs, with_paper=True), out / "figures"):
            log.info("wrote %s", path)


if __name__ == "__main__":
    main()
