"""One row per finished run, read from the results.json under the given folders: its method, backbone,
task and seed, parameter counts, latency, step time, scores, and the setting that sets it apart."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pandas as pd

from src.record import RESULTS_FILE, RunRecord, read_record
from src.reporting.labels import (
    NOT_A_SETTING,
    SHAPE_KEYS,
    base_label,
    distinct_labels,
    named,
    resolved_shapes,
    settings_table,
    shapes_text,
)
from src.reporting.paper_results import PAPER_METRIC

log = logging.getLogger(__name__)


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


def settings(rows: pd.DataFrame, ignore: tuple[str, ...] = ()) -> pd.Series:
    """What differs between runs of the same method, backbone and task besides the seed (and the config keys
    starting with one of ``ignore``), as one label."""
    labels = pd.Series("", index=rows.index)
    for _, group in rows.groupby(["backbone", "method", "task"], dropna=False):
        configs = settings_table(group)
        varying = [
            c
            for c in configs.columns
            if not c.startswith((*NOT_A_SETTING, *ignore)) and configs[c].astype(str).nunique() > 1
        ]
        for idx in group.index:
            labels[idx] = " ".join(
                f"{c.removeprefix('adapter.')}={configs.at[idx, c]}"
                for c in sorted(varying)
                if named(c, configs.at[idx, c])
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
