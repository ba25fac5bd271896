"""A study's numbers from its run folders: one row per (backbone, task, method row) with the median and
interquartile range over seeds (src.report's ``spread``, the same numbers ``python -m src.report`` gives
for those folders), then the claims as paired verdicts and the parity pairs (src.study.claims)."""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from typing import Any

from src.data import get_task
from src.record import RunRecord, read_record
from src.reporting.runs import run_row
from src.reporting.table import spread

from . import claims
from .jobs import Job
from .settings import StudySettings


def run_record(job: Job, lr_source: str) -> dict[str, Any]:
    """What the table needs of one run, read from its folder; a run that did not finish has no score."""
    record: dict[str, Any] = {"backbone": job.backbone, "task": job.task, "row": job.row, "seed": job.seed,
                              "overrides": list(job.overrides), "lr_source": lr_source, "score": None}  # fmt: skip
    try:
        run = read_record(job.run_dir)
    except (OSError, ValueError):
        return {**record, "error": "no results.json"}
    if not run.finished:
        return {**record, "error": run.error.message if run.error else run.status.value}
    row = run_row(job.run_dir, run)
    return {
        **record, "score": row["score"], "metric": next(iter(run.scores("validation")), None),
        "trainable": row["trainable_with_head"], "trainable_pct": row["trainable_pct_without_head"],
        "step_ms": row["step_ms_median"], "minutes": (run.wall_time_s or 0.0) / 60,
        "regression_target": regression_target_of(run),
    }  # fmt: skip


def regression_target_of(run: RunRecord) -> str | None:
    """How a regression run's head met its target (runs from before the setting: raw); None for classification."""
    recorded = run.section("regression_target").get("kind")
    if recorded:
        return recorded
    task = run.config.get("task") or {}
    return (task.get("regression_target") or "raw") if get_task(task.get("name", "")).is_regression else None


def regression_notes(records: Sequence[dict[str, Any]]) -> list[str]:
    """One line per regression task: the protocol its runs trained under (every report says which)."""
    kinds: dict[str, set[str]] = {}
    for record in records:
        if record.get("regression_target"):
            kinds.setdefault(record["task"], set()).add(record["regression_target"])
    return [
        f"regression target on {task}: {', '.join(sorted(found))} ({'; '.join(PROTOCOL_WORDS[k] for k in sorted(found))})"
        for task, found in kinds.items()
    ]


PROTOCOL_WORDS = {
    "raw": "raw: the papers' protocol, the head starts at 0",
    "head_bias": "head_bias: the head's output bias starts at the training labels' mean",
    "standardised": "standardised: the head learns the label z-scored by the training rows' mean and deviation, "
    "mapped back before scoring",
}


def lr_text(record: dict[str, Any]) -> str:
    return " ".join(sorted(o for o in record["overrides"] if o.startswith(("optim.lr=", "adapter.scale="))))


def aggregate(
    study: StudySettings,
    records: Sequence[dict[str, Any]],
    majority: dict[str, float | None],
    zero_shot: dict[tuple[str, str], float],
) -> list[dict[str, Any]]:
    rows = []
    for key in dict.fromkeys((r["backbone"], r["task"], r["row"]) for r in records):
        runs = [r for r in records if (r["backbone"], r["task"], r["row"]) == key]
        scores = {r["seed"]: r["score"] for r in runs if r["score"] is not None}
        stats = spread(list(scores.values()))
        baseline = majority.get(key[1])
        steps = [r["step_ms"] for r in runs if r.get("step_ms")]
        rows.append({
            "backbone": key[0], "task": key[1], "method": key[2], "label": study.label(key[2]),
            "metric": next((r["metric"] for r in runs if r.get("metric")), None), **stats,
            "seeds": len(scores), "failed": len(runs) - len(scores), "majority": baseline,
            "above_majority": None if stats["median"] is None or baseline is None else stats["median"] - baseline,
            "zero_shot": zero_shot.get(key[:2]),
            "trainable": next((r["trainable"] for r in runs if r.get("trainable")), None),
            "trainable_pct": next((r["trainable_pct"] for r in runs if r.get("trainable_pct")), None),
            "step_ms": statistics.median(steps) if steps else None,
            "minutes_per_run": statistics.fmean(r.get("minutes", 0.0) for r in runs),
            "lr": lr_text(runs[0]), "lr_source": runs[0]["lr_source"], "scores": scores,
            "regression_target": ", ".join(sorted({r["regression_target"] for r in runs if r.get("regression_target")}))
            or None,
        })  # fmt: skip
    return rows


def _comparison(backbone, task, name, source, differences, interval, result) -> dict[str, Any]:
    return {
        "backbone": backbone, "task": task, "comparison": name, "source": source, "paired_seeds": len(differences),
        "differences": differences, "mean_difference": statistics.fmean(differences) if differences else None,
        "ci_low": interval[0] if interval else None, "ci_high": interval[1] if interval else None, "verdict": result,
    }  # fmt: skip


def claim_rows(study: StudySettings, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    table = {(r["backbone"], r["task"], r["method"]): r for r in rows}
    out = []
    for backbone, task in sorted({(r["backbone"], r["task"]) for r in rows}):
        for claim in study.claims:
            better, worse = (
                table.get((backbone, task, claim.better)),
                table.get((backbone, task, claim.worse)),
            )
            if not better or not worse:
                continue
            trivial = better["majority"]
            differences = claims.paired_differences(
                *claims.both_learned(better["scores"], worse["scores"], trivial)
            )
            result, interval = claims.verdict(differences)
            out.append({
                **_comparison(backbone, task, claim.name, claim.source, differences, interval, result),
                "did_not_learn": {
                    name: sorted(set(row["scores"]) - claims.learned_seeds(row["scores"], trivial))
                    for name, row in ((claim.better, better), (claim.worse, worse))
                },
            })  # fmt: skip
    return out


def parity_rows(study: StudySettings, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    table = {(r["backbone"], r["task"], r["method"]): r for r in rows}
    out = []
    for backbone, task in sorted({(r["backbone"], r["task"]) for r in rows}):
        for ours, theirs in study.parity:
            a, b = table.get((backbone, task, ours)), table.get((backbone, task, theirs))
            if not a or not b:
                continue
            differences = claims.paired_differences(a["scores"], b["scores"])
            result, interval = claims.parity_verdict(differences, spread=a["iqr"] or 0.0)
            out.append({
                **_comparison(backbone, task, f"{ours} vs {theirs}", "PEFT", differences, interval, result),
                "ours_median": a["median"], "peft_median": b["median"], "ours_iqr": a["iqr"],
            })  # fmt: skip
    return out
