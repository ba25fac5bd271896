"""A NaN loss stops the run before it reaches the weights, says where it began, and keeps the last good checkpoint."""

from __future__ import annotations

import json
import math

import pytest
import torch

from src import adapters
from src.adapters import AdapterError, adapters_of
from src.errors import NumericsError
from src.run.fit import run
from tests.conftest import QUICK, built_model, compose_config

from .helpers import TINY_RTE, all_finite, load_checkpoint

POISON_STEP = 3
POISONED = (
    *TINY_RTE,
    "adapter=krona",
    "trainer.max_epochs=1",
    "callbacks.last_checkpoint.every_n_train_steps=1",
    "+callbacks.poison._target_=tests.reliability.helpers.PoisonAt",
    f"+callbacks.poison.step={POISON_STEP}",
)


def test_nan_loss_stops_with_step_batch_and_layer(tmp_path):
    with pytest.raises(NumericsError) as caught:
        run(compose_config(POISONED, tmp_path / "run"))
    message = str(caught.value)
    assert f"global step {POISON_STEP}" in message
    assert f"batch {POISON_STEP}" in message
    assert "first input ids [101," in message  # [CLS] of a real tokenised RTE row
    assert "encoder.layer.0.attention.self.query (Linear), which holds the non-finite parameter " in message
    assert "encoder.layer.0.attention.self.query.krona.A (KronA)" in message

    last = load_checkpoint(tmp_path / "run" / "checkpoints" / "last.ckpt")
    assert last["global_step"] == POISON_STEP
    assert all_finite(last["state_dict"])

    results = json.loads((tmp_path / "run" / "results.json").read_text())
    assert results["error"]["type"] == "NumericsError"
    assert results["params"]["adapter"] > 0


def test_merge_refuses_non_finite_update(tmp_path):
    backbone = built_model(compose_config((*QUICK, "backbone=tiny_bert", "adapter=krona"), tmp_path))
    model = backbone.model
    installed = adapters_of(model)
    with torch.no_grad():
        for adapter in installed:
            adapter.B.fill_(0.5)  # non-zero updates, so merging the others really changes weights
        installed[-1].A.view(-1)[0] = math.inf
    weights_before = {n: p.detach().clone() for n, p in model.named_parameters()}

    with pytest.raises(AdapterError, match="NaN or Inf"):
        adapters.merge_all(model)

    assert not any(a.merged for a in installed)
    for name, param in model.named_parameters():
        assert torch.isfinite(param).all() or not torch.isfinite(weights_before[name]).all(), name
        torch.testing.assert_close(param, weights_before[name], rtol=0, atol=1e-6)
