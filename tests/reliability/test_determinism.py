"""Same seed and config, same numbers on CPU; another seed, other numbers."""

from __future__ import annotations

import pytest

from src.run.fit import run
from tests.conftest import QUICK, compose_config

from .helpers import WITHOUT_MEASUREMENTS, load_checkpoint

TWO_BATCHES = (
    *QUICK,
    "trainer.limit_train_batches=2",
    "data.max_length=64",
    "adapter=krona",
    *WITHOUT_MEASUREMENTS,
)


def trained(tmp_path, name: str, *overrides: str) -> tuple[dict, dict]:
    results = run(compose_config((*TWO_BATCHES, *overrides), tmp_path / name))
    weights = load_checkpoint(tmp_path / name / "checkpoints" / "last.ckpt")["state_dict"]
    return results.metrics, weights


@pytest.mark.parametrize("backbone", ["tiny_bert", "tiny_t5"])
def test_same_seed_same_metrics_and_weights(tmp_path, backbone):
    metrics, weights = trained(tmp_path, "first", f"backbone={backbone}", "seed=3")
    metrics_again, weights_again = trained(tmp_path, "second", f"backbone={backbone}", "seed=3")

    assert metrics["validation"] and metrics == metrics_again
    assert any(".krona." in name for name in weights), "the krona factors should be in the checkpoint"
    for name in weights:
        assert weights[name].equal(weights_again[name]), f"{name} differs between two runs with one seed"


def test_another_seed_changes_the_weights(tmp_path):
    _, weights = trained(tmp_path, "first", "backbone=tiny_bert", "seed=3")
    _, weights_other_seed = trained(tmp_path, "other", "backbone=tiny_bert", "seed=4")
    assert any(not weights[n].equal(weights_other_seed[n]) for n in weights if ".krona." in n)
