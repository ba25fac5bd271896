"""Cheap runs shared by the callback tests: each configuration runs once per module."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from tests.conftest import QUICK, compose_config

# The latency protocol shortened for tests (the default is 150 warm-up + 200 timed, 3 repeats).
SHORT_LATENCY = ("callbacks.latency.warmup=3", "callbacks.latency.iters=10", "callbacks.latency.repeats=3")


@pytest.fixture(scope="module")
def quick_run(tmp_path_factory: pytest.TempPathFactory) -> Callable[..., tuple[dict, Path]]:
    """``run_quick`` with the short latency settings, memoised per overrides: (results, run directory)."""
    from src.run.fit import run

    done: dict[tuple[str, ...], tuple[dict, Path]] = {}

    def go(*overrides: str) -> tuple[dict, Path]:
        if overrides not in done:
            run_dir = tmp_path_factory.mktemp("run")
            record = run(compose_config([*QUICK, *SHORT_LATENCY, *overrides], run_dir))
            done[overrides] = (record.to_json(), run_dir)
        return done[overrides]

    return go
