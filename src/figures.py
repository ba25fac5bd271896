"""The analysis figures, from a ``src.report`` table: score vs trainable parameters, score per factor shape,
latency ratio and train step time. ``python -m src.report <dirs> --figures`` writes them as PNGs and
notebooks/analysis.ipynb draws them with these same functions.

Every figure is titled with its backbone, task(s) and seed count; a point or bar is one report row (one
method x setting, averaged over its seeds), its error bar the spread named in the axis label; the papers'
numbers (src.paper_results) are drawn as grey reference marks where they exist.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import matplotlib.pyplot as plt
import pandas as pd
from matplotlib.figure import Figure

from src.paper_results import LATENCY_RATIO

PAPER_STYLE = {"color": "0.45", "linestyle": "--", "linewidth": 1}
SHAPE = re.compile(r"a_shape=\[(\d+), (\d+)\] b_shape=\[(\d+), (\d+)\]")


def load_report(path: str | Path) -> pd.DataFrame:
    """A report.csv as written by ``src.report``, per-task rows only (GLUE-average rows left out)."""
    table = pd.read_csv(path)
    table["setting"] = table["setting"].fillna("")
    return table[table["task"] != "avg"].reset_index(drop=True)


def setting_label(setting: str) -> str:
    """``a_shape=[8, 6] b_shape=[6, 8]`` -> ``A 8x6, B 6x8``; other settings as they are; none -> ``default``."""
    found = SHAPE.search(setting)
    if found:
        a1, a2, b1, b2 = found.groups()
        rest = SHAPE.sub("", setting).strip()
        return f"A {a1}x{a2}, B {b1}x{b2}" + (f" {rest}" if rest else "")
    return setting or "default"


def seeds_text(rows: pd.DataFrame) -> str:
    low, high = int(rows["seeds"].min()), int(rows["seeds"].max())
    return f"{low} seed{'s' if high > 1 else ''}" if low == high else f"{low}-{high} seeds per point"


def _std(rows: pd.DataFrame, column: str) -> pd.Series:
    """Std over seeds, 0 where one seed gave no spread to show."""
    return rows.get(f"{column}_std", pd.Series(0.0, index=rows.index)).fillna(0.0)


def score_vs_params(rows: pd.DataFrame) -> Figure:
    """One backbone x task: the score of every method x setting against its trainable parameters (without the
    head, the papers' count), error bars one std over seeds, the paper's score as a dashed line per method."""
    backbone, task = rows["backbone"].iloc[0], rows["task"].iloc[0]
    fig, ax = plt.subplots(figsize=(7.5, 4.8), layout="constrained")
    for color, (method, group) in zip(plt.cm.tab10.colors, rows.groupby("method"), strict=False):
        x, rank = dodged(group["trainable_without_head"])
        ax.errorbar(
            x, group["score"], yerr=_std(group, "score"), fmt="o", capsize=4, color=color, label=method
        )
        for x_i, k, (_, row) in zip(x, rank, group.iterrows(), strict=True):
            if row["setting"]:
                ax.annotate(
                    setting_label(row["setting"]), (x_i, row["score"]),
                    textcoords="offset points", xytext=(6, 4 - 11 * k), fontsize=8, color=color,
                )  # fmt: skip
        paper = group["paper"].dropna().unique() if "paper" in group else []
        for value in paper:
            ax.axhline(value, color=color, linestyle="--", linewidth=1, alpha=0.7)
            ax.annotate(f"paper {method}: {value:g}", (0.01, value), xycoords=("axes fraction", "data"),
                        xytext=(0, 3), textcoords="offset points", fontsize=8, color=color)  # fmt: skip
    ax.set_xscale("log")
    ax.set_xlabel("trainable parameters without the classifier head (log scale; equal counts side by side)")
    ax.set_ylabel("score (%), mean ± 1 std over seeds")
    ax.set_title(f"{task.upper()} on {backbone}: score vs trainable parameters ({seeds_text(rows)})")
    ax.grid(alpha=0.3)
    ax.legend(title="method", fontsize=8)
    return fig


DODGE = (
    0.05  # settings with the same parameter count (factor shapes often have) sit this far apart in log10 x
)


def dodged(params: pd.Series) -> tuple[list[float], list[int]]:
    """Positions that keep equal parameter counts apart (side by side around the true count), and each
    point's rank among its equals (to stagger the labels)."""
    rank = params.groupby(params).cumcount()
    size = params.groupby(params).transform("size")
    shift = (rank - (size - 1) / 2) * DODGE
    return list(params * 10**shift), list(rank)


def factor_shapes(rows: pd.DataFrame) -> Figure:
    """One backbone x task x method's factor-shape sweep: score per (A, B) shape pair, ± 1 std over seeds,
    with the paper's score for that shape (KronA Table 9) as a grey mark where it has one."""
    backbone, task, method = rows["backbone"].iloc[0], rows["task"].iloc[0], rows["method"].iloc[0]
    rows = rows.sort_values("setting", key=lambda s: s.map(_shape_order))
    labels = [setting_label(s) for s in rows["setting"]]
    fig, ax = plt.subplots(figsize=(max(6.0, 1.3 * len(rows) + 2), 4.5), layout="constrained")
    positions = range(len(rows))
    ax.bar(positions, rows["score"], yerr=_std(rows, "score"), capsize=5, color="tab:blue", alpha=0.8,
           label=f"{method} (ours)")  # fmt: skip
    if "paper" in rows and rows["paper"].notna().any():
        ax.scatter(positions, rows["paper"], marker="D", color="0.3", zorder=3, label="paper")
    params = rows["trainable_without_head"]
    ax.set_xticks(
        list(positions), [f"{label}\n{p:,.0f} params" for label, p in zip(labels, params, strict=True)]
    )
    ax.tick_params(axis="x", labelsize=8)
    ax.set_ylabel("score (%), mean ± 1 std over seeds")
    ax.set_title(f"{method} factor shapes, {task.upper()} on {backbone} ({seeds_text(rows)})")
    ax.grid(axis="y", alpha=0.3)
    ax.legend(fontsize=8)
    return fig


def _shape_order(setting: str) -> tuple[int, str]:
    found = SHAPE.search(setting)
    return (int(found.group(1)), setting) if found else (0, setting)


def _bar_labels(rows: pd.DataFrame) -> list[str]:
    many_tasks = rows["task"].nunique() > 1
    return [
        f"{r.method}"
        + (f" {r.task}" if many_tasks else "")
        + (f" ({setting_label(r.setting)})" if r.setting else "")
        for r in rows.itertuples()
    ]


def latency_ratio(rows: pd.DataFrame) -> Figure:
    """One backbone: the latency ratio (adapted / bare backbone) of every method x setting, its bar spanning
    the per-repeat range over all seeds, the paper's ratio (KronA appendix C) as a grey diamond."""
    rows = rows.dropna(subset=["latency_ratio"]).sort_values(["method", "setting"])
    backbone = rows["backbone"].iloc[0]
    fig, ax = plt.subplots(figsize=(7.5, 0.45 * len(rows) + 1.8), layout="constrained")
    positions = list(range(len(rows)))
    lo = (rows["latency_ratio"] - rows["latency_ratio_lo"]).clip(lower=0)
    hi = (rows["latency_ratio_hi"] - rows["latency_ratio"]).clip(lower=0)
    ax.barh(positions, rows["latency_ratio"], xerr=[lo, hi], capsize=4, color="tab:orange", alpha=0.8,
            label="ours (mean; bar: per-repeat range)")  # fmt: skip
    paper = rows["method"].map(LATENCY_RATIO)
    if paper.notna().any():
        ax.scatter(paper, positions, marker="D", color="0.3", zorder=3, label="paper, T5-base (KronA app. C)")
    ax.axvline(1.0, **PAPER_STYLE)
    ax.set_yticks(positions, _bar_labels(rows), fontsize=8)
    ax.set_xlabel("inference latency / the same backbone without adapters (1 = no cost)")
    protocols = "/".join(sorted(set(rows["latency_protocol"].dropna()))) or "unknown"
    tasks = ", ".join(t.upper() for t in sorted(rows["task"].unique()))
    ax.set_title(
        f"Inference latency on {backbone} ({tasks})\n{protocols} protocol, batch 1 x 10 tokens, {seeds_text(rows)}",
        fontsize=10,
    )
    ax.grid(axis="x", alpha=0.3)
    ax.legend(fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.16), ncol=2, frameon=False)
    return fig


def step_time(rows: pd.DataFrame) -> Figure:
    """One backbone x task: median train step time of every method x setting, error bar the quartiles."""
    rows = rows.dropna(subset=["step_ms_median"]).sort_values(["method", "setting"])
    backbone, task = rows["backbone"].iloc[0], rows["task"].iloc[0]
    fig, ax = plt.subplots(figsize=(7.5, 0.45 * len(rows) + 1.8), layout="constrained")
    positions = list(range(len(rows)))
    lo = (rows["step_ms_median"] - rows["step_ms_p25"]).clip(lower=0)
    hi = (rows["step_ms_p75"] - rows["step_ms_median"]).clip(lower=0)
    ax.barh(positions, rows["step_ms_median"], xerr=[lo, hi], capsize=4, color="tab:green", alpha=0.8)
    for position, (median, steps) in enumerate(zip(rows["step_ms_median"], rows["steps_timed"], strict=True)):
        ax.annotate(
            f" {steps:.0f} step{'s' if steps != 1 else ''}", (median, position), va="center", fontsize=7
        )
    ax.set_yticks(positions, _bar_labels(rows), fontsize=8)
    ax.set_xlabel("train step (ms): median over the timed steps, bar: quartiles (mean over seeds)")
    ax.set_title(f"Train step time, {task.upper()} on {backbone} ({seeds_text(rows)})", fontsize=10)
    ax.grid(axis="x", alpha=0.3)
    return fig


def figures(table: pd.DataFrame) -> Iterator[tuple[str, Figure]]:
    """Every figure the table supports, with its file name."""
    table = table[table["task"] != "avg"]
    for (backbone, task), rows in table.groupby(["backbone", "task"]):
        if rows["score"].notna().any():
            yield f"score_vs_params-{backbone}-{task}", score_vs_params(rows.dropna(subset=["score"]))
        if rows["step_ms_median"].notna().any():
            yield f"step_time-{backbone}-{task}", step_time(rows)
        shaped = rows[rows["setting"].str.contains("a_shape=", regex=False)]
        for method, group in shaped.groupby("method"):
            if len(group) > 1:
                yield f"factor_shapes-{backbone}-{task}-{method}", factor_shapes(group)
    for backbone, rows in table.groupby("backbone"):
        if rows["latency_ratio"].notna().any():
            yield f"latency_ratio-{backbone}", latency_ratio(rows)


def write_figures(table: pd.DataFrame, out_dir: Path) -> list[Path]:
    """Each figure as ``<out_dir>/<name>.png``; returns the paths."""
    out_dir.mkdir(parents=True, exist_ok=True)
    table = table.assign(setting=table["setting"].fillna(""))
    written = []
    for name, fig in figures(table):
        path = out_dir / f"{name}.png"
        fig.savefig(path, dpi=130, bbox_inches="tight")
        plt.close(fig)
        written.append(path)
    return written
