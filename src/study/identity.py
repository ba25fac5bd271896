"""What a run computed, read from its resolved config: two runs with the same identity trained the same
model on the same rows, wherever their checkouts sit, so a finished one is reused and never rerun.

Left out: where files lie (``paths``, any absolute path), how a run is watched (``logger``,
``callbacks``), what it resumes from (``ckpt_path``) and whether it is compiled (``trainer.compile``): none of them
changes a number it reports beyond float rounding.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from omegaconf import DictConfig, OmegaConf

from src.record import RunRecord, read_record, results_path
from src.record.implicit import IMPLICIT_BEFORE

NOT_COMPUTED = ("paths", "logger", "callbacks", "ckpt_path")
# How the same computation is executed: a compiled run trains the eager run's model (to float rounding, as on
# another machine), so it reuses, and is reused by, runs that differ only here.
NOT_COMPUTED_SETTINGS = (("trainer", "compile"), ("trainer", "compile_backend"))


def _is_location(value: Any) -> bool:
    return isinstance(value, str) and value.startswith(("/", "~", "./", "../"))


def _strip(tree: Any) -> Any:
    if isinstance(tree, dict):
        return {k: _strip(v) for k, v in tree.items() if not _is_location(v)}
    if isinstance(tree, list):
        return [_strip(v) for v in tree]
    return tree


def left_out(config: dict[str, Any]) -> list[tuple[str, str]]:
    """The ``(group, key)`` settings identity drops from ``config``: how a run executes, and settings added later
    that hold the value earlier runs computed with (``IMPLICIT_BEFORE``)."""
    implicit = [
        (group, key)
        for (group, key), before in IMPLICIT_BEFORE.items()
        if (config.get(group) or {}).get(key, before) == before
    ]
    return [*NOT_COMPUTED_SETTINGS, *implicit]


def identity(config: dict[str, Any] | DictConfig) -> str:
    """A canonical JSON text of what the run computes."""
    if isinstance(config, DictConfig):
        config = OmegaConf.to_container(config, resolve=True)
    kept = {k: v for k, v in config.items() if k not in NOT_COMPUTED}
    for group, key in left_out(kept):
        if isinstance(kept.get(group), dict):
            kept[group] = {k: v for k, v in kept[group].items() if k != key}
    return json.dumps(_strip(kept), sort_keys=True)


def finished(run_dir: Path, wanted: str) -> RunRecord | None:
    """The run's record when it finished computing exactly ``wanted``, else None."""
    if not results_path(run_dir).exists():
        return None
    record = read_record(run_dir)
    if not record.finished or not record.config:
        return None
    return record if identity(record.config) == wanted else None
