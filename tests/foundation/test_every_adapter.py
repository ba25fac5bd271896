"""Every adapter config trains one batch and validates one batch on a tiny BERT and a tiny T5."""

from __future__ import annotations

import math

import pytest

from src.config import CONF_DIR

ADAPTERS = sorted(p.stem for p in (CONF_DIR / "adapter").glob("*.yaml"))


@pytest.mark.parametrize("backbone", ["tiny_bert", "tiny_t5"])
@pytest.mark.parametrize("adapter", ADAPTERS)
def test_adapter_runs_one_step(adapter: str, backbone: str, run_quick) -> None:
    results = run_quick(f"adapter={adapter}", f"backbone={backbone}", "task=rte")
    params = results["params"]
    assert 0 < params["trainable"] <= params["total"]
    if adapter != "full":
        assert params["trainable"] < params["total"]
    accuracy = results["metrics"]["validation"]["accuracy"]
    assert 0.0 <= accuracy <= 1.0 and not math.isnan(accuracy)
