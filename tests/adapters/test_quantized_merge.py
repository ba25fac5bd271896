"""Merging on a 4-/8-bit base, said honestly: a quantized weight cannot hold the update, so ``merge`` refuses in one
line (nothing changed); ``merge_and_unload(dequantize=<dtype>)`` puts each adapted layer back as a float layer
holding W + dW and equals the unmerged model; ``unload`` gives back the quantized layers exactly."""

from __future__ import annotations

import copy

import pytest
import torch
from torch import nn

from src.adapters import AdapterError, adapters_of, merge_all, merge_and_unload, unload
from src.adapters.core.quantized import is_quantized

from .conftest import batch_for, logits, perturb
from .quantized_helpers import adapted_pair, quantized_backbone
from .test_quantized_base import TOLERANCE

MERGEABLE = ("lora", "krona", "lokr", "karst")
CASES = [("bert", "nf4"), ("llama", "int8"), ("bert", "fp4")]
PEFT_LORA = {"peft_type": "LORA", "peft_config": {"r": 4, "lora_alpha": 8}}


def trained(family: str, mode: str, method: str, **overrides) -> nn.Module:
    model, _, _ = adapted_pair(family, mode, method, **overrides)
    perturb(model, adapters_only=True)
    return model.eval()


def settings_for(method: str) -> dict:
    return PEFT_LORA if method == "peft" else {}


@pytest.mark.parametrize(("family", "mode"), CASES)
@pytest.mark.parametrize("method", [*MERGEABLE, "peft"])
def test_merge_refuses_in_one_line_and_changes_nothing(family, mode, method):
    model = trained(family, mode, method, **settings_for(method))
    before = {n: t.clone() for n, t in model.state_dict().items()}
    with pytest.raises(
        AdapterError, match=r"cannot merge .* (4|8)-bit .*dequantize=torch\.float32"
    ) as refused:
        merge_all(model)
    assert "\n" not in str(refused.value)
    assert not any(a.merged for a in adapters_of(model))
    assert all(torch.equal(t, before[n]) for n, t in model.state_dict().items())
    with pytest.raises(AdapterError, match="cannot merge"):
        merge_and_unload(model)
    assert adapters_of(model), "a refused merge_and_unload leaves the adapters in"


@pytest.mark.parametrize(("family", "mode"), CASES)
@pytest.mark.parametrize("method", [*MERGEABLE, "peft"])
def test_merge_into_a_dequantized_copy_equals_the_unmerged_model(family, mode, method):
    model = trained(family, mode, method, **settings_for(method))
    batch = batch_for(family)
    unmerged = logits(model, batch)
    hosts = {a._host_name for a in adapters_of(model)}
    merged = merge_and_unload(copy.deepcopy(model), dequantize=torch.float32)
    assert not adapters_of(merged)
    modules = dict(merged.named_modules())
    assert all(type(modules[h]) is nn.Linear and modules[h].weight.dtype == torch.float32 for h in hosts)
    assert any(is_quantized(m) for m in merged.modules()), "the layers without an adapter stay quantized"
    out = logits(merged, batch)
    torch.testing.assert_close(out, unmerged, rtol=0, atol=TOLERANCE[mode] * unmerged.abs().max().item())
    with torch.no_grad():
        bare = logits(quantized_backbone(family, mode).model.eval(), batch)
    assert not torch.allclose(out, bare), "the merged copy must hold the update"


@pytest.mark.parametrize("method", ["lora", "krona"])
def test_a_bfloat16_merge_is_within_bfloat16_rounding(method):
    model = trained("bert", "nf4", method)
    batch = batch_for("bert")
    unmerged = logits(model, batch)
    merged = merge_and_unload(copy.deepcopy(model), dequantize=torch.bfloat16)
    hosts = {a._host_name for a in adapters_of(model)}
    assert all(dict(merged.named_modules())[h].weight.dtype == torch.bfloat16 for h in hosts)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        out = logits(merged, batch).float()
    torch.testing.assert_close(out, unmerged, rtol=0, atol=0.05 * unmerged.abs().max().item())


@pytest.mark.parametrize(("family", "mode"), CASES)
@pytest.mark.parametrize("method", [*MERGEABLE, "peft", "pa", "krona_b"])
def test_unload_gives_back_the_quantized_layers_exactly(family, mode, method):
    bare = quantized_backbone(family, mode).model.eval()
    model = trained(family, mode, method, **settings_for(method))
    unload(model)
    expected, got = bare.state_dict(), model.state_dict()
    assert set(got) == set(expected)
    assert all(torch.equal(got[n], expected[n]) for n in got), (
        "the packed weights and their quantization state"
    )
    assert [type(m) for m in model.modules()] == [type(m) for m in bare.modules()]
    batch = batch_for(family)
    assert torch.equal(logits(model, batch), logits(bare, batch))
