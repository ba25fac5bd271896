"""``src.eval`` loads what it is given: a saved adapter folder, or a checkpoint saved the old, full way."""

from __future__ import annotations

import lightning as L
import pytest

from src.eval import split_arguments
from src.run.evaluate import evaluate
from src.run.fit import run
from src.training.module import GlueModule
from tests.conftest import compose_config

from .cli import TINY_LORA, read_json

pytestmark = pytest.mark.slow


def test_adapter_folder_reproduces_the_validation_metrics(trained, tmp_path):
    settings, overrides = split_arguments(
        [f"adapter_dir={trained / 'merged' / 'adapter'}", "split=validation"]
    )
    settings.output = str(tmp_path / "eval.json")
    evaluated = evaluate(settings, overrides)
    assert evaluated["weights"]["kind"] == "adapter_dir"
    assert evaluated["run_dir"] == str(trained)
    assert evaluated["metrics"]["validation"] == read_json(trained / "results.json")["metrics"]["validation"]
    assert read_json(tmp_path / "eval.json")["metrics"] == evaluated["metrics"]


def test_a_full_checkpoint_saved_the_old_way_still_loads(tmp_path, monkeypatch):
    # the checkpoint hook as it was before adapter-sized checkpoints: everything stored
    monkeypatch.setattr(GlueModule, "on_save_checkpoint", L.LightningModule.on_save_checkpoint)
    overrides = [o for o in TINY_LORA if not o.startswith(("callbacks.merge", "+trainer"))]
    results = run(compose_config(overrides, tmp_path))
    monkeypatch.undo()
    best = results.best_checkpoint
    assert (tmp_path / "checkpoints" / "last.ckpt").stat().st_size > 5_000_000  # the whole backbone is in it

    settings, rest = split_arguments([f"ckpt_path={best}", "split=validation"])
    evaluated = evaluate(settings, rest)
    assert evaluated["weights"] | {"path": best} == evaluated["weights"]
    assert evaluated["metrics"]["validation"] == results.scores("validation")
