"""An eval step runs the model once for its loss and its predictions (families whose predictions come from the
same forward: every classifier; T5 generates or scores candidates, a pass of its own), with the values of the
separate ``loss`` and ``predict``."""

from __future__ import annotations

import pytest
import torch

from .conftest import FAMILIES, batch_for


@pytest.mark.parametrize("family", sorted(set(FAMILIES) - {"t5"}))
def test_loss_and_predictions_come_from_one_forward_with_the_separate_values(tiny_backbones, family):
    backbone = tiny_backbones[family]
    backbone.eval()
    batch = {**batch_for(family), "labels": torch.tensor([0, 1])}
    calls = []
    handle = backbone.model.register_forward_hook(lambda *_: calls.append(1))
    try:
        with torch.no_grad():
            loss, predictions = backbone.loss_and_predictions(batch)
            assert len(calls) == 1
            torch.testing.assert_close(loss, backbone.loss(batch), rtol=0, atol=0)
            assert torch.equal(predictions, backbone.predict(batch))
    finally:
        handle.remove()
