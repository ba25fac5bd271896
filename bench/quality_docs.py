"""Fill the quality tables of docs/BENCHMARKS.md from a study's report (bench/results/quality.json: the cpu study's).

Each generated table sits between ``<!-- bench.quality_docs NAME -->`` and ``<!-- /bench.quality_docs -->``,
NAME one of ``rows <task>``, ``claims``, ``parity``, ``search <task>``. Everything outside the markers is
left as written. After ``python -m src.study study=cpu``, run ``python -m bench.quality_docs`` so the docs
quote the committed tables, never numbers typed by hand.
"""

from __future__ import annotations

import argparse
import json
import re
from pathlib import Path
from typing import Any

from bench.common import RESULTS_DIR
from src.atomic import write_text_atomic
from src.data import get_task

DOC = Path(__file__).parent.parent / "docs" / "BENCHMARKS.md"
BLOCK = re.compile(
    r"(<!-- bench\.quality_docs (?P<name>[^>]*?) -->\n)(?P<body>.*?)(<!-- /bench\.quality_docs -->)", re.S
)


class DocError(ValueError):
    pass


def _task_name(task: str) -> str:
    """GLUE's own spelling (SST-2, STS-B): the task's folder in the classic glue_data layout."""
    return get_task(task).local_dir


def _labels(quality: dict[str, Any]) -> dict[str, str]:
    return {r["method"]: r.get("label") or r["method"] for r in quality["rows"]}


def _number(value: float | None, digits: int = 1) -> str:
    return "n/a" if value is None else f"{value:.{digits}f}"


def _learning_rate(overrides: str) -> str:
    """'adapter.scale=4.0 optim.lr=0.00699' -> 's=4 0.007'."""
    parts = []
    for item in overrides.split():
        key, value = item.split("=", 1)
        parts.append(f"s={float(value):g}" if key == "adapter.scale" else f"{float(value):.2g}")
    return " ".join(parts)


def _table(header: list[str], lines: list[list[str]]) -> list[str]:
    return [
        "| " + " | ".join(header) + " |",
        "|" + "---|" * len(header),
        *("| " + " | ".join(cells) + " |" for cells in lines),
    ]


def rows_block(quality: dict[str, Any], task: str) -> list[str]:
    rows = [r for r in quality["rows"] if r["task"] == task]  # in the study's row order
    if not rows:
        return [f"Not run yet: `python -m src.study study=cpu` (task {task})."]
    majority, zero_shot = rows[0].get("majority"), rows[0].get("zero_shot")
    metric = rows[0].get("metric") or "score"
    intro = f"Dev {metric} x100, median over seeds and interquartile range; "
    if majority is not None:
        intro += f"majority class {majority:.1f}."
    elif zero_shot is not None:
        intro += (f"no majority class (a regression task); the frozen pretrained encoder's own cosine similarity, "
                  f"nothing trained, scores {zero_shot:.1f} (`src/study/sts_reference.py`).")  # fmt: skip
    else:
        intro += "no majority-class score (a regression task)."
    targets = sorted({r["regression_target"] for r in rows if r.get("regression_target")})
    if targets:
        intro += f" Regression target: {', '.join(targets)} (`task.regression_target`)."
    header = ["row", "method", "trainable", "learning rate", "median", "IQR", "seeds", "step ms", "min/run"]
    lines = []
    for r in rows:
        source = (
            "" if r["lr_source"] == "searched" or r["lr_source"].startswith("searched (") else " NOT SEARCHED"
        )
        lines.append([
            r["method"], r.get("label") or r["method"], f"{r['trainable']:,}" if r.get("trainable") else "n/a",
            _learning_rate(r["lr"]) + source, _number(r["median"]), _number(r["iqr"]),
            f"{r['seeds']}" + (f" ({r['failed']} failed)" if r.get("failed") else ""),
            _number(r.get("step_ms"), 0), _number(r.get("minutes_per_run")),
        ])  # fmt: skip
    return [intro, "", *_table(header, lines)]


def _did_not_learn(row: dict[str, Any], labels: dict[str, str]) -> str:
    failed = {m: seeds for m, seeds in (row.get("did_not_learn") or {}).items() if seeds}
    return (
        "; ".join(f"{labels.get(m, m)} seeds {', '.join(map(str, seeds))}" for m, seeds in failed.items())
        or "none"
    )


def _signed(values: list[float]) -> str:
    return ", ".join("0" if abs(v) < 5e-3 else f"{v:+.2f}" for v in values)


def _interval(row: dict[str, Any]) -> str:
    return "n/a" if row["ci_low"] is None else f"{row['ci_low']:.2f} to {row['ci_high']:.2f}"


def claims_block(quality: dict[str, Any]) -> list[str]:
    header = [
        "task",
        "claim (paper)",
        "did not learn",
        "per-seed differences",
        "mean",
        "95% interval",
        "verdict",
    ]
    lines = []
    labels = _labels(quality)
    for row in quality.get("claims", []):
        lines.append([
            _task_name(row["task"]), f"{row['comparison']} ({row['source']})", _did_not_learn(row, labels),
            _signed(row["differences"]) or "none",
            _signed([row["mean_difference"]]) if row["mean_difference"] is not None else "n/a", _interval(row),
            row["verdict"],
        ])  # fmt: skip
    return _table(header, lines) if lines else ["No claim has both of its rows run yet."]


def parity_block(quality: dict[str, Any]) -> list[str]:
    header = [
        "task",
        "pair",
        "kronlab median",
        "PEFT median",
        "kronlab IQR",
        "paired mean",
        "interval",
        "verdict",
    ]
    lines = [
        [_task_name(row["task"]), row["comparison"], _number(row["ours_median"]),
         _number(row["peft_median"]), _number(row["ours_iqr"]), _number(row["mean_difference"], 2), _interval(row),
         row["verdict"]]
        for row in quality.get("parity", [])
    ]  # fmt: skip
    return _table(header, lines) if lines else ["No parity pair has both of its rows run yet."]


def search_block(quality: dict[str, Any], task: str) -> list[str]:
    searches = [s for s in quality.get("searches", []) if s["task"] == task]
    if not searches:
        return [f"Not searched yet: `python -m src.study study=cpu` (task {task})."]
    header = ["row", "trials", "failed", "chosen", "held-out score", "lowest trial score"]
    lines = []
    for search in searches:
        chosen = ", ".join(
            f"{key.split('.')[-1]} {value:.2g}"
            for key, value in sorted(search["params"].items(), reverse=True)
        )
        scores = [t["value"] for t in search["trial_values"] if t["value"] is not None]
        lines.append([
            search["method"], str(search["trials"]), str(search["failed"]), chosen, _number(search["objective"]),
            _number(100 * min(scores)) if scores else "n/a",
        ])  # fmt: skip
    return _table(header, lines)


def render(name: str, quality: dict[str, Any]) -> list[str]:
    kind, _, task = name.partition(" ")
    if kind == "rows" and task:
        return rows_block(quality, task)
    if kind == "claims" and not task:
        return claims_block(quality)
    if kind == "parity" and not task:
        return parity_block(quality)
    if kind == "search" and task:
        return search_block(quality, task)
    raise DocError(
        f"unknown table {name!r} in the doc: use 'rows <task>', 'claims', 'parity' or 'search <task>'"
    )


def fill(text: str, quality: dict[str, Any]) -> str:
    """The doc with every generated table replaced; raises DocError when it has no marker at all."""
    if not BLOCK.search(text):
        raise DocError(
            "the doc has no '<!-- bench.quality_docs NAME -->' ... '<!-- /bench.quality_docs -->' block"
        )
    return BLOCK.sub(lambda m: m.group(1) + "\n".join(render(m["name"], quality)) + "\n" + m.group(4), text)


def _load(path: Path, what: str) -> dict[str, Any]:
    if not path.is_file():
        raise DocError(f"{path} does not exist: run {what} first")
    return json.loads(path.read_text())


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--report", type=Path, default=RESULTS_DIR / "quality.json", help="a study's report.json"
    )
    parser.add_argument("--doc", type=Path, default=DOC)
    args = parser.parse_args(argv)
    try:
        quality = _load(args.report, "python -m src.study study=cpu")
        text = fill(args.doc.read_text(), quality)
    except DocError as error:
        raise SystemExit(f"bench.quality_docs: {error}") from None
    write_text_atomic(args.doc, text)
    print(f"wrote {args.doc}")


if __name__ == "__main__":
    main()
