"""The report table as Markdown (``mean ± std``, ranges in brackets, empty cells for missing numbers) and
its two files, report.csv and report.md."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import pandas as pd

log = logging.getLogger(__name__)


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
