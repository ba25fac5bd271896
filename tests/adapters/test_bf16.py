"""bf16-mixed (trainer=bf16): every weight-parallel method's update survives autocast. Its effect on the hidden
states and its gradients are compared with a float32 reference of the same model.

Tolerances, stated: for an update whose effect (hidden states with the adapter minus without) reaches at least 5%
of the hidden states' scale, that effect within 3% of its largest float32 value (bf16 keeps 8 bits of mantissa:
measured 0.5-1.8% on these models; a smaller effect drowns in the bf16 rounding of the hidden states themselves,
which no adapter can avoid); each factor's gradient with cosine similarity >= 0.99 to the float32 one. Weights and
factors stay float32 (Lightning's bf16-mixed)."""

from __future__ import annotations

import copy

import pytest
import torch

from src.adapters import METHODS, adapters_of, apply

from .conftest import backbone_for, batch_for, is_documented_refusal, method_settings

EFFECT_TOLERANCE = 0.03
GRADIENT_COSINE = 0.99
FAMILIES = ("bert", "llama")  # an encoder and a grouped-query decoder


def weight_parallel_methods() -> list[str]:
    """Methods whose adapters can merge into a weight (discovered by installing each on tiny BERT)."""
    model = backbone_for("bert").model
    found = []
    for method in sorted(METHODS):
        trial = copy.deepcopy(model)
        apply(trial, method_settings(method), backbone_for("bert").placement())
        if any(a.mergeable for a in adapters_of(trial)):
            found.append(method)
    return found


@pytest.fixture(scope="module")
def backbones(tiny_backbones):
    return tiny_backbones


VISIBLE_EFFECT = 0.05


def visible(backbone, method: str, batch):
    """The method with adapter parameters drawn large enough (doubling from 0.1) that the update's effect on the
    hidden states is at least VISIBLE_EFFECT: a trained update, not one below bf16's resolution of the states."""
    for scale in (0.1, 0.2, 0.4, 0.8, 1.6, 3.2):
        model = scaled(backbone, method, scale)
        reference = update_effect(model, batch, bf16=False)
        if reference.abs().max() >= VISIBLE_EFFECT:
            return model, reference
    raise AssertionError(f"{method}: no visible update even at scale {scale}")


def scaled(backbone, method: str, scale: float = 0.1):
    """The backbone with ``method`` installed and every adapter parameter drawn at ``scale`` (a trained update)."""
    model = copy.deepcopy(backbone.model).eval()
    torch.manual_seed(0)
    try:
        apply(model, method_settings(method), backbone.placement())
    except Exception as error:  # noqa: BLE001 - only the documented refusals are skipped
        if is_documented_refusal(error, backbone.placement()):
            pytest.skip(str(error))
        raise
    generator = torch.Generator().manual_seed(3)
    with torch.no_grad():
        for adapter in adapters_of(model):
            for param in adapter.owned_parameters():
                param.copy_(torch.randn(param.shape, generator=generator) * scale)
    return model


def hidden(model, batch, bf16: bool) -> torch.Tensor:
    with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
        return model.base_model(**batch).last_hidden_state.float()


def update_effect(model, batch, bf16: bool) -> torch.Tensor:
    with torch.no_grad():
        on = hidden(model, batch, bf16)
        for adapter in adapters_of(model):
            adapter.enabled = False
        off = hidden(model, batch, bf16)
        for adapter in adapters_of(model):
            adapter.enabled = True
    return on - off


@pytest.mark.parametrize("family", FAMILIES)
@pytest.mark.parametrize("method", weight_parallel_methods())
def test_update_survives_bf16_autocast(backbones, family, method):
    batch = {k: v for k, v in batch_for(family).items() if k != "decoder_input_ids"}
    model, reference = visible(backbones[family], method, batch)
    measured = update_effect(model, batch, bf16=True)
    assert (measured - reference).abs().max() <= EFFECT_TOLERANCE * reference.abs().max()
    assert all(p.dtype == torch.float32 for a in adapters_of(model) for p in a.owned_parameters())


@pytest.mark.parametrize("family", FAMILIES)
@pytest.mark.parametrize("method", weight_parallel_methods())
def test_factor_gradients_match_float32(backbones, family, method):
    batch = {k: v for k, v in batch_for(family).items() if k != "decoder_input_ids"}
    model, _ = visible(backbones[family], method, batch)
    owned = [p for a in adapters_of(model) for p in a.owned_parameters()]
    direction = torch.randn(hidden(model, batch, False).shape, generator=torch.Generator().manual_seed(5))
    gradients = []
    for bf16 in (
        False,
        True,
    ):  # a fixed random readout: layer-normed states' mean square is flat in the inputs
        model.zero_grad()
        (hidden(model, batch, bf16) * direction).sum().backward()
        gradients.append([p.grad.clone() for p in owned])
    for reference, measured in zip(*gradients, strict=True):
        cosine = torch.nn.functional.cosine_similarity(reference.flatten(), measured.flatten(), dim=0)
        assert cosine >= GRADIENT_COSINE
