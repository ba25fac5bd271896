"""A study's report: ``<report>.json`` (every row, run, claim, parity pair and search) and ``<report>.md``
in the papers' shape (methods as rows, tasks as columns with their average, trainable % of the backbone),
then the detailed rows, the claims, the parity pairs and the searches."""

from __future__ import annotations

import json
import shlex
import sys
from collections.abc import Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pandas as pd

from src.atomic import write_text_atomic
from src.record import versions

from .settings import StudySettings

ROW_COLUMNS = ["backbone", "task", "method", "label", "trainable", "trainable_pct", "metric", "median", "iqr",
               "seeds", "failed", "majority", "above_majority", "zero_shot", "step_ms", "minutes_per_run", "lr",
               "lr_source"]  # fmt: skip
COMPARISON_COLUMNS = ["backbone", "task", "comparison", "source", "paired_seeds", "mean_difference", "ci_low",
                      "ci_high", "verdict"]  # fmt: skip


def report_path(study: StudySettings) -> Path:
    return Path(study.report) if study.report else Path(study.dir) / "report"


def cell(value: Any) -> str:
    if value is None or (isinstance(value, float) and pd.isna(value)):
        return ""
    if isinstance(value, bool):
        return "yes" if value else "NO"
    if isinstance(value, float):
        return f"{value:.3g}" if abs(value) < 100 else f"{value:.0f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def table(columns: Sequence[str], rows: Sequence[dict[str, Any]]) -> str:
    frame = pd.DataFrame([{c: cell(r.get(c)) for c in columns} for r in rows], columns=list(columns))
    return frame.to_markdown(index=False, disable_numparse=True) if rows else "(none)"


def paper_table(study: StudySettings, rows: Sequence[dict[str, Any]], backbone: str) -> str:
    """Methods as rows, tasks as columns (median [IQR] over seeds) and their average, as the papers print."""
    mine = [r for r in rows if r["backbone"] == backbone]
    tasks = [t for t in study.tasks if any(r["task"] == t for r in mine)]
    lines = []
    for method in dict.fromkeys(r["method"] for r in mine):
        cells = {r["task"]: r for r in mine if r["method"] == method}
        pct = next((c["trainable_pct"] for c in cells.values() if c.get("trainable_pct") is not None), None)
        entry = {"method": study.label(method), "trainable %": "" if pct is None else f"{pct:.3g}"}
        medians = []
        for task in tasks:
            found = cells.get(task)
            if found is None or found["median"] is None:
                entry[task] = ""
                continue
            entry[task] = f"{found['median']:.1f} [{found['iqr']:.1f}]"
            medians.append(found["median"])
        entry["avg"] = f"{sum(medians) / len(medians):.1f}" if len(medians) == len(tasks) and tasks else ""
        lines.append(entry)
    references = {t: next((r["majority"] if r["majority"] is not None else r["zero_shot"] for r in mine
                           if r["task"] == t), None) for t in tasks}  # fmt: skip
    lines.append({"method": "(majority class / frozen zero-shot)", "trainable %": "0",
                  **{t: cell(v) for t, v in references.items()}, "avg": ""})  # fmt: skip
    return pd.DataFrame(lines).to_markdown(index=False, disable_numparse=True)


def write_report(
    study: StudySettings,
    rows: list[dict[str, Any]],
    runs: list[dict[str, Any]],
    claims: list[dict[str, Any]],
    parity: list[dict[str, Any]],
    searches: list[dict[str, Any]],
    notes: list[str],
) -> Path:
    path = report_path(study)
    meta = {"versions": versions(), "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "command": " ".join(shlex.quote(a) for a in ["python", "-m", "src.study", *sys.argv[1:]])}  # fmt: skip
    payload = {"title": f"Study {study.name}", "machine": meta, "notes": notes, "rows": rows, "runs": runs,
               "claims": claims, "parity": parity, "searches": searches}  # fmt: skip
    write_text_atomic(path.with_suffix(".json"), json.dumps(payload, indent=2, default=str))
    lines = [f"# Study {study.name}", "", *[f"- {note}" for note in notes],
             f"- command: `{meta['command']}` ({meta['date']}); commit {meta['versions']['git_commit']}", ""]  # fmt: skip
    for backbone in dict.fromkeys(r["backbone"] for r in rows):
        lines += [f"## {backbone}: median [IQR] over seeds, x100", "", paper_table(study, rows, backbone), ""]
    lines += ["## Rows", "", table(ROW_COLUMNS, rows), ""]
    lines += ["## Claims (paired over the seeds where both runs learned)", "",
              table([*COMPARISON_COLUMNS, "did_not_learn"], claims), ""]  # fmt: skip
    lines += [
        "## Parity",
        "",
        table([*COMPARISON_COLUMNS, "ours_median", "peft_median", "ours_iqr"], parity),
        "",
    ]
    lines += ["## Searches", "", table(["backbone", "task", "method", "trials", "failed", "best", "objective",
                                        "storage"], searches), ""]  # fmt: skip
    return write_text_atomic(path.with_suffix(".md"), "\n".join(lines))
