"""The report table: one row per method x backbone x task x setting, each metric as mean ± std over seeds,
parameter counts, latency and step time with their spread; with ``with_paper`` the papers' numbers, the
difference, and the GLUE average rows."""

from __future__ import annotations

import logging
from collections.abc import Sequence

import numpy as np
import pandas as pd

from src.reporting.labels import (
    row_labels,
)
from src.reporting.paper_results import GLUE_TASKS, reference

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


def spread(scores: Sequence[float]) -> dict[str, float | None]:
    """Median and interquartile range over seeds (numpy's linear percentiles): the study report's numbers."""
    if not len(scores):
        return {"median": None, "iqr": None, "q25": None, "q75": None}
    q25, median, q75 = (float(v) for v in np.percentile(list(scores), [25, 50, 75]))
    return {"median": median, "iqr": q75 - q25, "q25": q25, "q75": q75}


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
