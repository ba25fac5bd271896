"""kronlab's Pfeiffer, Houlsby, parallel adapter, Compacter and Compacter++ against adapter-hub's outputs, frozen.

tests/parity/reference/adapterhub_tiny_bert.pt holds, per method, kronlab's settings, the adapter weights (in
kronlab's names) and what adapter-hub 1.3 computed with them on the tiny float64 BERT of bench/parity_common.py:
logits, the last hidden state, the gradients with respect to the input embeddings and to every adapter parameter.
Written once by ``python -m bench.parity_adapters --write-reference`` (which needs adapter-hub's own virtual
environment); here only kronlab runs, with each method's defaults as a user gets them, so a change of placement,
wiring, activation or layout fails (putting Pfeiffer back to its pre-issue-23 wiring moves the logits by 0.46 and fails here).
"""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from transformers import BertConfig, BertForSequenceClassification

from bench.parity_common import forward_backward, inputs, tiny_bert
from src.adapters import apply
from src.backbones.architectures import placement_for

REFERENCE = torch.load(Path(__file__).parent / "reference" / "adapterhub_tiny_bert.pt", weights_only=True)
TOLERANCE = REFERENCE["tolerance"]


def kronlab_outputs(settings: dict, weights: dict[str, torch.Tensor]) -> dict:
    model = tiny_bert(BertConfig, BertForSequenceClassification)
    apply(model, settings, placement_for(model, "encoder"))
    model.double().eval()
    params = dict(model.named_parameters())
    with torch.no_grad():
        for name, value in weights.items():
            params[name].copy_(value)
    return forward_backward(model, inputs(), {name: params[name] for name in weights})


@pytest.mark.parametrize("method", sorted(REFERENCE["cases"]))
def test_equals_adapterhub(method):
    case = REFERENCE["cases"][method]
    found = kronlab_outputs(case["settings"], case["weights"])
    expected = case["expected"]
    for quantity in ("logits", "hidden", "input_grad"):
        difference = float((found[quantity] - expected[quantity]).abs().max())
        assert difference < TOLERANCE, f"{method}: {quantity} differs from adapter-hub's by {difference:.3g}"
    assert set(found["grads"]) == set(expected["grads"]), (
        f"{method}: other adapter parameters than adapter-hub's"
    )
    for name, grad in found["grads"].items():
        difference = float((grad - expected["grads"][name]).abs().max())
        assert difference < TOLERANCE, (
            f"{method}: the gradient of {name} differs from adapter-hub's by {difference:.3g}"
        )


def test_reference_covers_the_baselines():
    assert set(REFERENCE["cases"]) == {"pfeiffer", "houlsby", "pa", "compacter", "compacterpp"}
    assert REFERENCE["versions"]["adapters"].startswith("1.3")
