"""The analysis figures, from a ``src.report`` table: score vs trainable parameters, score per factor shape,
latency ratio and train step time. ``python -m src.report <dirs> --figures`` writes them as PNGs and
notebooks/analysis.ipynb draws them with these same functions.

Every figure is titled with its backbone, task(s) and seed count; a point or bar is one report row (one
method x setting, averaged over its seeds), named by the row's ``label`` (src.report: the method and what
sets the setting apart in words, factor shapes resolved), its error bar the spread named in the axis label;
the papers' numbers (src.reporting.paper_results) are drawn as grey reference marks where they exist, and a
``references`` entry per (backbone, task) (the majority class, a frozen encoder's zero-shot score) as a
labelled line on the score figures. Score axes are fitted to the data, and text is placed so that no two
labels overlap.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterator, Sequence
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.text import Annotation
from matplotlib.ticker import FixedLocator, FuncFormatter, NullLocator

from src.reporting.figure_layout import (
    freeze_layout,
    line_offsets,
    overlap,
    place_labels,
    point_offsets,
    text_box,
)
from src.reporting.paper_results import LATENCY_RATIO

PAPER_STYLE = {"color": "0.45", "linestyle": "--", "linewidth": 1}
REFERENCE_STYLE = {"color": "0.15", "linestyle": ":", "linewidth": 1.5}
SHAPE = re.compile(r"a_shape=\[(\d+), (\d+)\] b_shape=\[(\d+), (\d+)\]")
SHAPES_TEXT = re.compile(r"A (\d+)x(\d+), B (\d+)x(\d+)")
MARKERS = "osD^vPX*<>h"
# tab10, then five more that are told apart from it: a method each, with its own marker too
PALETTE = (*plt.cm.tab10.colors, "black", "darkgoldenrod", "indigo", "darkslategray", "deeppink")
# A row with this many times the median trainable count (full fine-tuning next to adapters) is drawn as a
# horizontal line across the figure, its count in its label, so that the x axis fits the adapters.
FAR = 30.0
# A reference (majority class, zero-shot) widens the score axis to reach it only if the axis then spans at
# most this many times the data's own range; else it is named at the edge it lies beyond.
REFERENCE_REACH = 3.0
Reference = tuple[str, float]
References = dict[tuple[str, str], Reference]


def load_report(path: str | Path) -> pd.DataFrame:
    """A report.csv as written by ``src.report``, per-task rows only (GLUE-average rows left out)."""
    table = pd.read_csv(path)
    for column in ("setting", "label", "variant"):
        if column in table:
            table[column] = table[column].fillna("")
    return table[table["task"] != "avg"].reset_index(drop=True)


def setting_label(setting: str) -> str:
    """``a_shape=[8, 6] b_shape=[6, 8]`` -> ``A 8x6, B 6x8``; other settings as they are; none -> ``default``."""
    found = SHAPE.search(setting)
    if found:
        a1, a2, b1, b2 = found.groups()
        rest = SHAPE.sub("", setting).strip()
        return f"A {a1}x{a2}, B {b1}x{b2}" + (f" {rest}" if rest else "")
    return setting or "default"


def labels(rows: pd.DataFrame) -> pd.Series:
    """Each row's name: its ``label`` (src.report's), else the method and its setting (a table from before
    labels existed)."""
    settings = rows["setting"].fillna("") if "setting" in rows else pd.Series("", index=rows.index)
    fallback = pd.Series(
        [f"{m} {setting_label(s)}" if s else str(m) for m, s in zip(rows["method"], settings, strict=True)],
        index=rows.index,
    )
    if "label" not in rows:
        return fallback
    named = rows["label"]
    return named.where(named.notna() & (named.astype(str) != ""), fallback).astype(str)


def detail(label: str, method: str) -> str:
    """The label less its leading method name (``krona A 4x12, B 12x4`` -> ``A 4x12, B 12x4``)."""
    prefix = f"{method} "
    return label[len(prefix) :] if label.startswith(prefix) else label


def shapes_of(rows: pd.DataFrame) -> pd.Series:
    """Each row's resolved factor shapes as ``A 8x6, B 6x8`` (the ``shapes`` column, else read from an
    explicit ``a_shape=[..] b_shape=[..]`` setting); None for a row without Kronecker factors."""
    settings = rows["setting"].fillna("") if "setting" in rows else pd.Series("", index=rows.index)
    parsed = settings.map(lambda s: setting_label(SHAPE.search(s).group(0)) if SHAPE.search(s) else None)
    if "shapes" not in rows:
        return parsed
    given = rows["shapes"]
    return given.where(given.notna() & (given.astype(str) != ""), parsed)


def variants_of(rows: pd.DataFrame) -> pd.Series:
    """What a row's setting fixes besides its factor shapes and optimiser (the ``variant`` column, else the
    setting less its shapes and learning rate): rows of one variant differ in shape only."""
    if "variant" in rows:
        return rows["variant"].fillna("").astype(str)
    settings = rows["setting"].fillna("") if "setting" in rows else pd.Series("", index=rows.index)
    return settings.map(lambda s: re.sub(r"optim\.\S+=\S+", "", SHAPE.sub("", s)).strip())


def seeds_text(rows: pd.DataFrame) -> str:
    low, high = int(rows["seeds"].min()), int(rows["seeds"].max())
    return f"{low} seed{'s' if high > 1 else ''}" if low == high else f"{low}-{high} seeds per point"


def _std(rows: pd.DataFrame, column: str) -> pd.Series:
    """Std over seeds, 0 where one seed gave no spread to show."""
    return rows.get(f"{column}_std", pd.Series(0.0, index=rows.index)).fillna(0.0)


def count_text(value: float) -> str:
    """``22713216`` -> ``22.7M``, ``37440`` -> ``37.4k``."""
    for size, suffix in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
        if abs(value) >= size:
            return f"{value / size:.3g}{suffix}"
    return f"{value:.3g}"


# ------------------------------------------------------------------------------------------------ score axes


def score_limits(
    low: Sequence[float], high: Sequence[float], reference: Reference | None
) -> tuple[tuple[float, float], bool]:
    """A score axis around the data (error bars and paper marks included), padded; whether the reference
    lies on it (it widens the axis only while the axis stays within ``REFERENCE_REACH`` x the data's range)."""
    values_lo = [v for v in low if v is not None and np.isfinite(v)]
    values_hi = [v for v in high if v is not None and np.isfinite(v)]
    lo, hi = (min(values_lo), max(values_hi)) if values_lo and values_hi else (0.0, 100.0)
    span = max(hi - lo, 1.0)  # at least one point of score on the axis
    centre = (lo + hi) / 2
    lo, hi = min(lo, centre - span / 2), max(hi, centre + span / 2)
    on_axis = False
    if reference is not None:
        value = float(reference[1])
        if max(hi, value) - min(lo, value) <= REFERENCE_REACH * span:
            lo, hi, on_axis = min(lo, value), max(hi, value), True
    pad = 0.1 * (hi - lo)
    return (lo - pad, hi + pad), on_axis


def draw_reference(ax, reference: Reference | None) -> list[tuple[Annotation, list]]:
    """The reference as a dotted line across ``ax``, labelled with its name and score at the right."""
    if reference is None:
        return []
    name, value = reference[0], float(reference[1])
    ax.axhline(value, **REFERENCE_STYLE, zorder=1, gid="reference", label=f"_{name}")
    note = ax.annotate(
        f"{name}: {value:.3g}", (0.99, value), xycoords=("axes fraction", "data"), textcoords="offset points",
        xytext=(0, 3), ha="right", fontsize=8, color=REFERENCE_STYLE["color"], gid="reference-label",
    )  # fmt: skip
    return [(note, line_offsets())]


def score_axes(figsize, limits: tuple[float, float], reference: Reference | None, on_axis: bool):
    """The score axes (first in ``fig.axes``), and for a reference too far from the data to share its axis
    without flattening the differences, a thin strip below (or above) it on the same scale, the axis broken
    between them, where the reference is drawn at its true value. Returns (fig, axes, the axes the
    reference goes on or None, top axes, bottom axes)."""
    if reference is None:
        fig, ax = plt.subplots(figsize=figsize, layout="constrained")
        ax.set_ylim(*limits)
        return fig, ax, None, ax, ax
    if on_axis:
        fig, ax = plt.subplots(figsize=figsize, layout="constrained")
        ax.set_ylim(*limits)
        return fig, ax, ax, ax, ax
    value, below = float(reference[1]), float(reference[1]) < limits[0]
    fig = plt.figure(figsize=figsize, layout="constrained")
    grid = fig.add_gridspec(2, 1, height_ratios=[7, 1] if below else [1, 7])
    ax = fig.add_subplot(grid[0 if below else 1])
    strip = fig.add_subplot(grid[1 if below else 0], sharex=ax)
    ax.set_ylim(*limits)
    half = (limits[1] - limits[0]) / 7 / 2  # the same score per inch as the main axes
    strip.set_ylim(value - half, value + half)
    strip.set_yticks([value], [f"{value:.3g}"])
    top, bottom = (ax, strip) if below else (strip, ax)
    top.spines["bottom"].set_visible(False)
    bottom.spines["top"].set_visible(False)
    top.tick_params(axis="x", bottom=False, labelbottom=False)
    marks = {"marker": [(-1, -0.5), (1, 0.5)], "markersize": 10, "linestyle": "none", "color": "k", "mec": "k",
             "mew": 1, "clip_on": False}  # fmt: skip
    top.plot([0, 1], [0, 0], transform=top.transAxes, **marks)
    bottom.plot([0, 1], [1, 1], transform=bottom.transAxes, **marks)
    strip.grid(alpha=0.3)
    return fig, ax, strip, top, bottom


def _nice_ticks(low: float, high: float, most: int = 7) -> list[float]:
    """Round counts between low and high for a log axis: the finest mantissas that give 2 to ``most`` ticks."""
    mantissas = [(1, 1.2, 1.5, 2, 2.5, 3, 4, 5, 6, 7, 8), (1, 1.5, 2, 3, 5, 7), (1, 2, 5), (1, 3), (1,)]
    decades = range(math.floor(math.log10(low)) - 1, math.ceil(math.log10(high)) + 1)
    candidates = [
        [m * 10**k for k in decades for m in kept if low <= m * 10**k <= high] for kept in mantissas
    ]
    for ticks in candidates:
        if 2 <= len(ticks) <= most:
            return ticks
    return candidates[-1][:: max(1, math.ceil(len(candidates[-1]) / most))] or candidates[0]


def dodged(params: pd.Series, step: float | None = None) -> tuple[list[float], list[int]]:
    """Positions that keep equal (or nearly equal: within ``step`` in log10) parameter counts apart, side by
    side around their count, and each point's rank among its neighbours (to stagger the labels)."""
    step = DODGE if step is None else step
    logs = np.log10(params.astype(float).clip(lower=1))
    order = np.argsort(logs.to_numpy(), kind="stable")
    cluster = np.zeros(len(logs), dtype=int)
    for previous, current in zip(order[:-1], order[1:], strict=True):
        near = logs.iloc[current] - logs.iloc[previous] < step
        cluster[current] = cluster[previous] if near else cluster[previous] + 1
    clusters = pd.Series(cluster, index=params.index)
    rank = clusters.groupby(clusters).cumcount()
    size = clusters.groupby(clusters).transform("size")
    centre = logs.groupby(clusters).transform("mean")
    shift = np.where(size > 1, centre + (rank - (size - 1) / 2) * step - logs, 0.0)
    return list(params * 10**shift), list(rank)


DODGE = (
    0.05  # settings with the same parameter count (factor shapes often have) sit this far apart in log10 x
)


def _fit_log_axis(ax, counts: Sequence[float]) -> float:
    """A log x axis padded around the counts (at least 0.3 decades wide) with round, readable ticks;
    returns the dodge step (log10) that suits its width."""
    logs = np.log10(np.asarray(counts, dtype=float).clip(min=1))
    lo, hi = float(logs.min()), float(logs.max())
    span = max(hi - lo, 0.3)
    centre = (lo + hi) / 2
    lo, hi = min(lo, centre - span / 2), max(hi, centre + span / 2)
    pad = 0.08 * span
    ax.set_xscale("log")
    ax.set_xlim(10 ** (lo - pad), 10 ** (hi + pad))
    ticks = _nice_ticks(10 ** (lo - pad), 10 ** (hi + pad))
    ax.xaxis.set_major_locator(FixedLocator(ticks))
    ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: count_text(v)))
    ax.xaxis.set_minor_locator(NullLocator())
    return 0.025 * span


# ------------------------------------------------------------------------------------------------- figures


def score_vs_params(rows: pd.DataFrame, reference: Reference | None = None) -> Figure:
    """One backbone x task: the score of every method x setting against its trainable parameters (without the
    head, the papers' count), error bars one std over seeds, the paper's score as a dashed line per method.

    The x axis (log) is fitted to the counts; a row with ``FAR`` x the median count (full fine-tuning) is a
    horizontal line with its count in its label instead of a point far to the right. A method with one row
    is named by its label in the legend; a method with several has its name in the legend and each point
    labelled beside it (the label less the method), placed so that no labels overlap. ``reference``
    (name, score) is drawn as a labelled dotted line."""
    backbone, task = rows["backbone"].iloc[0], rows["task"].iloc[0]
    rows = rows.assign(_label=labels(rows), _std=_std(rows, "score"))
    params = rows["trainable_without_head"].astype(float)
    far = params > FAR * params.median()
    if far.all():
        far[:] = False
    papers = list(rows["paper"].dropna()) if "paper" in rows else []
    limits, on_axis = score_limits(
        [*(rows["score"] - rows["_std"]), *papers], [*(rows["score"] + rows["_std"]), *papers], reference
    )
    fig, ax, reference_ax, top, bottom = score_axes((9.5, 5.2), limits, reference, on_axis)
    step = _fit_log_axis(ax, params[~far].dropna() if params[~far].notna().any() else [1, 10])
    x_all, _ = dodged(params[~far].fillna(1), step)
    x_of = dict(zip(rows.index[~far], x_all, strict=True))
    movable: list[tuple[Annotation, list]] = []
    lines: list[tuple[Annotation, list]] = []
    points = []
    for k, (method, group) in enumerate(rows.groupby("method")):
        color, marker = PALETTE[k % len(PALETTE)], MARKERS[k % len(MARKERS)]
        near = group[~far[group.index]]
        single = len(group) == 1
        if len(near):
            x = [x_of[i] for i in near.index]
            ax.errorbar(
                x, near["score"], yerr=near["_std"], fmt=marker, capsize=4, color=color, markersize=6,
                label=near["_label"].iloc[0] if single else method,
            )  # fmt: skip
            for x_i, (_, row) in zip(x, near.iterrows(), strict=True):
                points.append((ax, x_i, row["score"] - row["_std"], row["score"] + row["_std"]))
                if not single:
                    note = ax.annotate(
                        detail(row["_label"], method), (x_i, row["score"]), textcoords="offset points",
                        xytext=(7, 0), va="center", fontsize=8, color=color,
                        arrowprops={"arrowstyle": "-", "color": color, "lw": 0.6, "shrinkA": 0, "shrinkB": 4},
                    )  # fmt: skip
                    movable.append((note, point_offsets()))
        for _, row in group[far[group.index]].iterrows():
            ax.axhline(row["score"], color=color, linestyle="-.", linewidth=1.3,
                       label=f"{row['_label']} ({count_text(row['trainable_without_head'])} params, off the x axis)")  # fmt: skip
            if row["_std"]:
                ax.axhspan(
                    row["score"] - row["_std"], row["score"] + row["_std"], color=color, alpha=0.08, lw=0
                )
        for value in group["paper"].dropna().unique() if "paper" in group else []:
            ax.axhline(value, color=color, linestyle="--", linewidth=1, alpha=0.7)
            note = ax.annotate(f"paper {method}: {value:g}", (0.01, value), xycoords=("axes fraction", "data"),
                               xytext=(0, 3), textcoords="offset points", fontsize=8, color=color)  # fmt: skip
            lines.append((note, line_offsets()))
    lines = draw_reference(reference_ax, reference) + lines
    bottom.set_xlabel(
        "trainable parameters without the classifier head (log scale; equal counts side by side)"
    )
    ax.set_ylabel("score (%), mean ± 1 std over seeds")
    top.set_title(f"{task.upper()} on {backbone}: score vs trainable parameters ({seeds_text(rows)})")
    ax.grid(alpha=0.3)
    top.legend(title="method", fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0), borderaxespad=0)
    place_labels(fig, lines + movable, points)
    return fig


def _shape_key(shapes: str | None) -> tuple[int, int, str]:
    found = SHAPES_TEXT.search(shapes or "")
    return (int(found.group(1)), int(found.group(2)), shapes) if found else (0, 0, shapes or "")


def factor_shapes(rows: pd.DataFrame, reference: Reference | None = None) -> Figure:
    """One backbone x task x method's factor-shape sweep (rows that differ in factor shape only): score per
    (A, B) shape pair as a point, ± 1 std over seeds, on a score axis fitted to the points (not bars from
    0, which hide differences of a point), with the paper's score for that shape (KronA Table 9) as a grey
    mark where it has one and ``reference`` (name, score) as a labelled dotted line."""
    backbone, task, method = rows["backbone"].iloc[0], rows["task"].iloc[0], rows["method"].iloc[0]
    rows = rows.assign(_shapes=shapes_of(rows).fillna(labels(rows)), _std=_std(rows, "score"))
    rows = rows.iloc[sorted(range(len(rows)), key=lambda i: _shape_key(rows["_shapes"].iloc[i]))]
    papers = list(rows["paper"].dropna()) if "paper" in rows else []
    limits, on_axis = score_limits(
        [*(rows["score"] - rows["_std"]), *papers], [*(rows["score"] + rows["_std"]), *papers], reference
    )
    size = (max(6.0, 1.2 * len(rows) + 3.0), 4.8)
    fig, ax, reference_ax, top, bottom = score_axes(size, limits, reference, on_axis)
    positions = np.arange(len(rows))
    ax.errorbar(positions, rows["score"], yerr=rows["_std"], fmt="o", capsize=5, color="tab:blue", markersize=7,
                label=f"{method} (ours)")  # fmt: skip
    if papers:
        ax.scatter(positions, rows["paper"], marker="D", color="0.3", zorder=3, label="paper")
    ax.set_xlim(-0.6, len(rows) - 0.4)
    params = rows["trainable_without_head"]
    ticks = [
        shape.replace(", ", "\n") + ("" if pd.isna(p) else f"\n{p:,.0f} params")
        for shape, p in zip(rows["_shapes"], params, strict=True)
    ]
    ax.set_xticks(list(positions), ticks)
    bottom.tick_params(axis="x", labelsize=8)
    bottom.set_xlabel("factor shapes (A, B) and trainable parameters without the head")
    ax.set_ylabel("score (%), mean ± 1 std over seeds")
    top.set_title(f"{method} factor shapes, {task.upper()} on {backbone} ({seeds_text(rows)})")
    ax.grid(axis="y", alpha=0.3)
    top.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0), borderaxespad=0)
    lines = draw_reference(reference_ax, reference)
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    boxes = [text_box(t, renderer) for t in bottom.get_xticklabels() if t.get_text()]
    if any(overlap(a, b) for i, a in enumerate(boxes) for b in boxes[i + 1 :]):
        bottom.tick_params(axis="x", labelrotation=35)
        for label in bottom.get_xticklabels():
            label.set_ha("right")
    points = [(ax, x, s - e, s + e) for x, s, e in zip(positions, rows["score"], rows["_std"], strict=True)]
    place_labels(fig, lines, points)
    return fig


def _bar_labels(rows: pd.DataFrame) -> list[str]:
    """``method (what sets the row apart)``, the task too when the figure has several."""
    many_tasks = rows["task"].nunique() > 1
    out = []
    for r, label in zip(rows.itertuples(), labels(rows), strict=True):
        rest, task = detail(label, r.method), f" {r.task}" if many_tasks else ""
        out.append(f"{r.method}{task} ({rest})" if rest != label else f"{label}{task}")
    return out


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
    freeze_layout(fig)
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
    for position, (top, steps) in enumerate(zip(rows["step_ms_p75"], rows["steps_timed"], strict=True)):
        ax.annotate(  # past the error bar's cap, not on it
            f"{steps:.0f} step{'s' if steps != 1 else ''}", (top, position), xytext=(8, 0),
            textcoords="offset points", va="center", fontsize=7,
        )  # fmt: skip
    ax.set_xlim(0, float(rows["step_ms_p75"].max()) * 1.18)
    ax.set_yticks(positions, _bar_labels(rows), fontsize=8)
    ax.set_xlabel("train step (ms): median over the timed steps, bar: quartiles (mean over seeds)")
    ax.set_title(f"Train step time, {task.upper()} on {backbone} ({seeds_text(rows)})", fontsize=10)
    ax.grid(axis="x", alpha=0.3)
    freeze_layout(fig)
    return fig


def shape_sweeps(rows: pd.DataFrame) -> Iterator[tuple[str, pd.DataFrame]]:
    """One backbone x task's factor-shape sweeps: per method and variant (everything but the shapes and the
    optimiser equal), the rows with resolved shapes, when two or more shapes differ."""
    shapes, variants = shapes_of(rows), variants_of(rows)
    shaped = rows[shapes.notna() & (shapes.astype(str) != "")]
    for (method, _variant), group in shaped.groupby([shaped["method"], variants[shaped.index]], sort=True):
        if shapes[group.index].nunique() > 1:
            yield method, group


def figures(table: pd.DataFrame, references: References | None = None) -> Iterator[tuple[str, Figure]]:
    """Every figure the table supports, with its file name; ``references`` maps (backbone, task) to a
    (name, score) drawn on that task's score figures (e.g. ``("majority class", 50.9)``)."""
    references = references or {}
    table = table[table["task"] != "avg"]
    for (backbone, task), rows in table.groupby(["backbone", "task"]):
        reference = references.get((backbone, task))
        if rows["score"].notna().any():
            yield (
                f"score_vs_params-{backbone}-{task}",
                score_vs_params(rows.dropna(subset=["score"]), reference),
            )
        if rows["step_ms_median"].notna().any():
            yield f"step_time-{backbone}-{task}", step_time(rows)
        seen: dict[str, int] = {}
        for method, group in shape_sweeps(rows.dropna(subset=["score"])):
            seen[method] = seen.get(method, 0) + 1
            suffix = "" if seen[method] == 1 else f"-{seen[method]}"
            yield f"factor_shapes-{backbone}-{task}-{method}{suffix}", factor_shapes(group, reference)
    for backbone, rows in table.groupby("backbone"):
        if rows["latency_ratio"].notna().any():
            yield f"latency_ratio-{backbone}", latency_ratio(rows)


def write_figures(table: pd.DataFrame, out_dir: Path, references: References | None = None) -> list[Path]:
    """Each figure as ``<out_dir>/<name>.png``; returns the paths."""
    out_dir.mkdir(parents=True, exist_ok=True)
    table = table.assign(setting=table["setting"].fillna(""))
    written = []
    for name, fig in figures(table, references):
        path = out_dir / f"{name}.png"
        fig.savefig(path, dpi=130, bbox_inches="tight")
        plt.close(fig)
        written.append(path)
    return written
