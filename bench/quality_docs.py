"""Fill the quality tables of docs/BENCHMARKS.md from bench/results/quality.json and search_<plan>.json.

Each generated table sits between ``<!-- bench.quality_docs NAME -->`` and ``<!-- /bench.quality_docs -->``,
NAME one of ``rows <task>``, ``claims``, ``parity``, ``search <task>``. Everything outside the markers is
left as written. After ``python -m bench.quality`` or ``python -m bench.search``, run
``python -m bench.quality_docs`` so the docs quote the committed tables, never numbers typed by hand.
"""

from __future__ import annotations

import argparse
import json
import re
from collections import defaultdict
from pathlib import Path
from typing import Any

from bench.common import RESULTS_DIR
from bench.quality_plans import ROWS
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


def _order(method: str) -> int:
    return list(ROWS).index(method) if method in ROWS else len(ROWS)


def _label(method: str) -> str:
    return ROWS[method].label if method in ROWS and ROWS[method].label else method


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
    rows = sorted((r for r in quality["rows"] if r["task"] == task), key=lambda r: _order(r["method"]))
    if not rows:
        return [f"Not run yet: `python -m bench.quality --tasks {task}`."]
    majority, zero_shot = rows[0].get("majority"), rows[0].get("zero_shot")
    metric = rows[0].get("metric") or "score"
    intro = f"Dev {metric} x100, median over seeds and interquartile range; "
    if majority is not None:
        intro += f"majority class {majority:.1f}."
    elif zero_shot is not None:
        intro += (f"no majority class (a regression task); the frozen pretrained encoder's own cosine similarity, "
                  f"nothing trained, scores {zero_shot:.1f} (`bench/sts_reference.py`).")  # fmt: skip
    else:
        intro += "no majority-class score (a regression task)."
    header = ["row", "method", "trainable", "learning rate", "median", "IQR", "seeds", "step ms", "min/run"]
    lines = []
    for r in rows:
        source = (
            "" if r["lr_source"] == "searched" or r["lr_source"].startswith("searched (") else " NOT SEARCHED"
        )
        lines.append([
            r["method"], _label(r["method"]), f"{r['trainable']:,}" if r.get("trainable") else "n/a",
            _learning_rate(r["lr"]) + source, _number(r["median"]), _number(r["iqr"]),
            f"{r['seeds']}" + (f" ({r['failed']} failed)" if r.get("failed") else ""),
            _number(r.get("step_ms"), 0), _number(r.get("minutes_per_run")),
        ])  # fmt: skip
    return [intro, "", *_table(header, lines)]


def _did_not_learn(row: dict[str, Any]) -> str:
    failed = {m: seeds for m, seeds in (row.get("did_not_learn") or {}).items() if seeds}
    return (
        "; ".join(f"{_label(m)} seeds {', '.join(map(str, seeds))}" for m, seeds in failed.items()) or "none"
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
    for row in quality.get("claims", []):
        lines.append([
            _task_name(row["task"]), f"{row['comparison']} ({row['source']})", _did_not_learn(row),
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


def search_block(search: dict[str, Any], task: str) -> list[str]:
    sweeps = sorted((s for s in search["sweeps"] if s["task"] == task), key=lambda s: _order(s["method"]))
    if not sweeps:
        return [f"Not searched yet: `python -m bench.search --tasks {task}`."]
    trials = defaultdict(list)
    for trial in search["rows"]:
        if trial["objective"] is not None:
            trials[(trial["task"], trial["method"])].append(trial["objective"])
    header = ["row", "trials", "failed", "chosen", "held-out score", "lowest trial score"]
    lines = []
    for sweep in sweeps:
        chosen = ", ".join(
            f"{key.split('.')[-1]} {value:.2g}"
            for key, value in sorted(sweep["params"].items(), reverse=True)
        )
        scores = trials[(task, sweep["method"])]
        lines.append([
            sweep["method"], str(sweep["trials"]), str(sweep["failed"]), chosen, _number(100 * sweep["objective"]),
            _number(100 * min(scores)) if scores else "n/a",
        ])  # fmt: skip
    return _table(header, lines)


def render(name: str, quality: dict[str, Any], search: dict[str, Any] | None) -> list[str]:
    kind, _, task = name.partition(" ")
    if kind == "rows" and task:
        return rows_block(quality, task)
    if kind == "claims" and not task:
        return claims_block(quality)
    if kind == "parity" and not task:
        return parity_block(quality)
    if kind == "search" and task:
        if search is None:
            raise DocError(
                "the doc has a search table but there is no search_<plan>.json: run python -m bench.search first"
            )
        return search_block(search, task)
    raise DocError(
        f"unknown table {name!r} in the doc: use 'rows <task>', 'claims', 'parity' or 'search <task>'"
    )


def fill(text: str, quality: dict[str, Any], search: dict[str, Any] | None) -> str:
    """The doc with every generated table replaced; raises DocError when it has no marker at all."""
    if not BLOCK.search(text):
        raise DocError(
            "the doc has no '<!-- bench.quality_docs NAME -->' ... '<!-- /bench.quality_docs -->' block"
        )
    return BLOCK.sub(
        lambda m: m.group(1) + "\n".join(render(m["name"], quality, search)) + "\n" + m.group(4), text
    )


def _load(path: Path, what: str) -> dict[str, Any]:
    if not path.is_file():
        raise DocError(f"{path} does not exist: run {what} first")
    return json.loads(path.read_text())


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--plan", default="cpu")
    parser.add_argument("--doc", type=Path, default=DOC)
    args = parser.parse_args(argv)
    quality_name = "quality" if args.plan == "cpu" else f"quality_{args.plan}"
    try:
        quality = _load(RESULTS_DIR / f"{quality_name}.json", f"python -m bench.quality --plan {args.plan}")
        search_path = RESULTS_DIR / f"search_{args.plan}.json"
        search = json.loads(search_path.read_text()) if search_path.is_file() else None
        text = fill(args.doc.read_text(), quality, search)
    except DocError as error:
        raise SystemExit(f"bench.quality_docs: {error}") from None
    write_text_atomic(args.doc, text)
    print(f"wrote {args.doc}")


if __name__ == "__main__":
    main()
