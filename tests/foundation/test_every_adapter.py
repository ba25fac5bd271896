"""Every adapter config trains one batch and validates one batch on a tiny BERT, T5, DeBERTa and Llama (a
grouped-query decoder): the data, loss and prediction path of every family, not just the adapters."""

from __future__ import annotations

import math

import pytest

from src.adapters import AdapterError
from src.config import CONF_DIR

ADAPTERS = sorted(p.stem for p in (CONF_DIR / "adapter").glob("*.yaml"))


@pytest.mark.parametrize("backbone", ["tiny_bert", "tiny_t5", "tiny_deberta", "tiny_llama"])
@pytest.mark.parametrize("adapter", ADAPTERS)
def test_adapter_runs_one_step(adapter: str, backbone: str, run_quick) -> None:
    if (backbone, adapter) == ("tiny_deberta", "prefix"):
        with pytest.raises(AdapterError, match="disentangled attention"):
            run_quick(f"adapter={adapter}", f"backbone={backbone}", "task=rte")
        return
    results = run_quick(f"adapter={adapter}", f"backbone={backbone}", "task=rte")
    params = results["params"]
    assert 0 < params["trainable"] <= params["total"]
    if adapter != "full":
        assert params["trainable"] < params["total"]
    accuracy = results["metrics"]["validation"]["accuracy"]
    assert 0.0 <= accuracy <= 1.0 and not math.isnan(accuracy)
