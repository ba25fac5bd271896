"""What every benchmark shares: the machine and versions it ran on, interleaved timing, and table writing."""

from __future__ import annotations

import json
import os
import platform
import shlex
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import torch

from src.atomic import write_text_atomic
from src.record import versions

RESULTS_DIR = Path(__file__).parent / "results"
BENCH_TASK = "rte"  # the task the speed benches build their models for (speed does not depend on it)


def configure_threads() -> None:
    """``KRONLAB_BENCH_THREADS=1`` on a CPU shared with other jobs: with every core busy, a 2-thread
    GEMM waits at each barrier for a descheduled thread (measured here: bert_base forward 6 s at 2
    threads vs 0.6 s at 1 under load 12). Recorded in every table as torch_threads."""
    threads = os.environ.get("KRONLAB_BENCH_THREADS")
    if threads:
        torch.set_num_threads(int(threads))


def device() -> torch.device:
    return torch.device("cuda") if torch.cuda.is_available() else torch.device("cpu")


def synchronize(where: torch.device) -> None:
    if where.type == "cuda":
        torch.cuda.synchronize(where)


def machine() -> dict[str, Any]:
    """Where and with what a table was measured (recorded next to every table)."""
    configure_threads()
    where = device()
    info: dict[str, Any] = {
        "device": torch.cuda.get_device_name(where)
        if where.type == "cuda"
        else platform.processor() or platform.machine(),
        "device_type": where.type,
        "cpu_count": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        "load_average_1m": os.getloadavg()[0] if hasattr(os, "getloadavg") else None,
        "platform": platform.platform(),
        "command": " ".join(shlex.quote(a) for a in [Path(sys.executable).name, *sys.argv]),
        "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
    }
    import peft

    return {**info, "versions": {**versions(), "peft": peft.__version__}}


def time_once(fn: Callable[[], Any], where: torch.device) -> float:
    """Seconds for one call, with the device synchronised before both clock readings."""
    synchronize(where)
    started = time.perf_counter()
    fn()
    synchronize(where)
    return time.perf_counter() - started


def interleaved_samples(
    candidates: dict[str, Callable[[], Any]], where: torch.device, rounds: int, warmup: int = 1
) -> dict[str, list[float]]:
    """Seconds per candidate per round, timing them in turn within every round (order rotated each
    round) so that load from other processes on a shared machine hits every candidate alike."""
    names = list(candidates)
    for _ in range(warmup):
        for name in names:
            candidates[name]()
    samples: dict[str, list[float]] = {name: [] for name in names}
    for r in range(rounds):
        order = names[r % len(names) :] + names[: r % len(names)]
        for name in order:
            samples[name].append(time_once(candidates[name], where))
    return samples


def interleaved_medians(
    candidates: dict[str, Callable[[], Any]], where: torch.device, rounds: int, warmup: int = 1
) -> dict[str, float]:
    """Median seconds per candidate over interleaved rounds (see ``interleaved_samples``)."""
    return {
        name: statistics.median(t)
        for name, t in interleaved_samples(candidates, where, rounds, warmup).items()
    }


def paired_median_difference(samples: list[float], reference: list[float]) -> float:
    """Median over rounds of (candidate - reference) within the same round: load that hits a whole
    round cancels, which a difference of two medians does not."""
    return statistics.median(a - b for a, b in zip(samples, reference, strict=True))


def write_table(
    name: str,
    title: str,
    rows: Sequence[dict[str, Any]],
    columns: Sequence[str],
    notes: Sequence[str] = (),
    sections: Sequence[tuple[str, Sequence[str], Sequence[dict[str, Any]]]] = (),
    **extra: Any,
) -> Path:
    """``bench/results/<name>.json`` (rows + machine + extra) and ``<name>.md`` (a Markdown table, then one
    more table per section: (title, columns, rows))."""
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    meta = machine()
    payload = {"title": title, "machine": meta, "notes": list(notes), "rows": list(rows), **extra}
    write_text_atomic(RESULTS_DIR / f"{name}.json", json.dumps(payload, indent=2, default=str))
    lines = [f"# {title}", ""]
    lines += [f"- {note}" for note in notes]
    lines += [
        f"- machine: {meta['device']} ({meta['device_type']}, {meta['torch_threads']} threads, "
        f"load {meta['load_average_1m']}); torch {meta['versions']['torch']}, transformers "
        f"{meta['versions']['transformers']}, peft {meta['versions']['peft']}; commit {meta['versions']['git_commit']}",
        f"- command: `{meta['command']}` ({meta['date']})",
        "",
        *markdown_table(columns, rows),
    ]
    for section_title, section_columns, section_rows in sections:
        lines += ["", f"## {section_title}", "", *markdown_table(section_columns, section_rows)]
    return write_text_atomic(RESULTS_DIR / f"{name}.md", "\n".join(lines) + "\n")


def markdown_table(columns: Sequence[str], rows: Sequence[dict[str, Any]]) -> list[str]:
    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    return lines + ["| " + " | ".join(format_cell(row.get(c)) for c in columns) + " |" for row in rows]


def format_cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "NO"
    if isinstance(value, float):
        return f"{value:.3g}" if abs(value) < 100 else f"{value:.0f}"
    return str(value)


def adapter_names() -> list[str]:
    """Every method with a conf/adapter/<name>.yaml (the list other engineers extend)."""
    from src.config import CONF_DIR

    return sorted(p.stem for p in (CONF_DIR / "adapter").glob("*.yaml"))


def compose(*overrides: str):
    """The config ``python -m src.train <overrides>`` would see."""
    from hydra import compose as hydra_compose
    from hydra import initialize_config_dir

    from src.config import CONF_DIR

    with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
        return hydra_compose(config_name="train", overrides=list(overrides))


def build_random_model(backbone: str, adapter: str, task: str = BENCH_TASK, *extra: str):
    """The framework's own model (src.run.build.build_model) with random weights: for speed, not quality."""
    from src.data import get_task
    from src.run.build import build_model

    cfg = compose(
        f"backbone={backbone}", f"adapter={adapter}", f"task={task}", "backbone.init=random", *extra
    )
    return build_model(cfg, get_task(task))


def try_build(backbone: str, adapter: str, failures: dict[str, str], *extra: str):
    """The model, or None with the reason recorded (methods being written right now may not build)."""
    try:
        return build_random_model(backbone, adapter, BENCH_TASK, *extra)
    except Exception as error:  # noqa: BLE001 - every failure is reported in the table, not raised
        failures[adapter] = f"{type(error).__name__}: {str(error).splitlines()[0][:200]}"
        print(f"  {backbone}/{adapter}: does not build ({failures[adapter]})", flush=True)
        return None
