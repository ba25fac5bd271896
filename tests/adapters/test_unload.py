"""unload / merge_and_unload over every registered method and every peft type that adapts layers: a plain
Hugging Face model comes out (no adapter module, parameter, hook or forward override), and a merged one
saved with ``save_pretrained`` loads with plain transformers, no key missing or unexpected, same outputs."""

from __future__ import annotations

import copy

import pytest
import torch
from transformers import AutoModelForSequenceClassification, T5ForConditionalGeneration

from src.adapters import METHODS, Adapter, AdapterError, adapters_of, apply, merge_and_unload, unload
from src.adapters.methods.hf_peft import layer_tuner_types

from .conftest import FAMILIES, batch_for, is_documented_refusal, logits, method_settings, perturb

MERGE_TOLERANCE = 1e-4
LOADERS = {"t5": T5ForConditionalGeneration}  # every other family: AutoModelForSequenceClassification
METHOD_CASES = [(family, method, {}) for family in FAMILIES for method in sorted(METHODS)]
# every peft type on an encoder, T5 and a grouped-query decoder (the other families differ in nothing peft sees)
PEFT_CASES = [
    (family, "peft", {"peft_type": t}) for family in ("bert", "t5", "llama") for t in layer_tuner_types()
]


CASE_IDS = [
    "-".join([family, method, *overrides.values()]) for family, method, overrides in METHOD_CASES + PEFT_CASES
]


def build(tiny_backbones, family: str, method: str, overrides: dict):
    """(bare copy, adapted copy) of the tiny backbone; peft types that cannot run with their defaults on a
    48-wide model are skipped with peft's own reason."""
    backbone = tiny_backbones[family]
    bare = copy.deepcopy(backbone.model).eval()
    model = copy.deepcopy(backbone.model).eval()
    torch.manual_seed(0)
    try:
        apply(model, method_settings(method, **overrides), backbone.placement())
        logits(model, batch_for(family))
    except (AdapterError, ValueError, RuntimeError) as error:
        if isinstance(error, AdapterError) and is_documented_refusal(error, backbone.placement()):
            pytest.skip(f"refused in one line: {error}")
        if method != "peft":
            raise
        pytest.skip(f"peft {overrides['peft_type']} does not run with its defaults here: {str(error)[:120]}")
    return bare, model


def assert_plain(model, bare) -> None:
    """Nothing of an adapter is left: the bare model's parameters and buffers by name, no hooks, no overrides."""
    assert not [name for name, m in model.named_modules() if isinstance(m, Adapter)]
    assert set(model.state_dict()) == set(bare.state_dict())
    assert [n for n, _ in model.named_parameters()] == [n for n, _ in bare.named_parameters()]
    for name, module in model.named_modules():
        assert not module._forward_hooks and not module._forward_pre_hooks, f"{name} keeps a hook"
        assert "forward" not in module.__dict__, f"{name} keeps a forward override"
        assert type(module) is type(bare.get_submodule(name)), f"{name} is still a {type(module).__name__}"
    assert getattr(model, "kronlab_adapter_config", None) is None


@pytest.mark.parametrize(("family", "method", "overrides"), METHOD_CASES + PEFT_CASES, ids=CASE_IDS)
def test_unload_gives_back_the_bare_backbone(tiny_backbones, family, method, overrides):
    bare, model = build(tiny_backbones, family, method, overrides)
    perturb(model, adapters_only=True)  # the backbone must come back bit for bit; the adapters must matter
    batch = batch_for(family)
    if adapters_of(model):
        assert not torch.equal(logits(model, batch), logits(bare, batch))
    assert unload(model) is model
    assert_plain(model, bare)
    for name, tensor in model.state_dict().items():
        assert torch.equal(tensor, bare.state_dict()[name]), name
    assert torch.equal(logits(model, batch), logits(bare, batch))


@pytest.mark.parametrize(("family", "method", "overrides"), METHOD_CASES + PEFT_CASES, ids=CASE_IDS)
def test_merged_model_saves_and_loads_with_plain_transformers(
    tiny_backbones, tmp_path, family, method, overrides
):
    bare, model = build(tiny_backbones, family, method, overrides)
    perturb(model)  # a trained model: adapters, head and any trained backbone parameters all moved
    batch = batch_for(family)
    trained = logits(model, batch)
    before = {name: t.clone() for name, t in model.state_dict().items()}
    if not all(a.mergeable for a in adapters_of(model)):
        with pytest.raises(AdapterError, match="cannot merge") as refused:
            merge_and_unload(model)
        assert "\n" not in str(refused.value)
        assert all(torch.equal(t, before[n]) for n, t in model.state_dict().items())
        return
    try:
        merge_and_unload(model)
    except AdapterError as error:  # peft refusing its own merge (e.g. BEFT on a layer without bias)
        if method != "peft":
            raise
        assert "\n" not in str(error) and not any(a.merged for a in adapters_of(model))
        assert all(torch.equal(t, before[n]) for n, t in model.state_dict().items())
        return
    assert_plain(model, bare)
    merged = logits(model, batch)
    assert (merged - trained).abs().max() <= MERGE_TOLERANCE  # the merge callback's default tolerance
    assert torch.equal(merged.argmax(-1), trained.argmax(-1))
    model.save_pretrained(tmp_path)
    loaded, info = LOADERS.get(family, AutoModelForSequenceClassification).from_pretrained(
        tmp_path, output_loading_info=True
    )
    assert not info["missing_keys"], info
    assert not info["unexpected_keys"] and not info.get("mismatched_keys"), info
    assert torch.equal(logits(loaded.eval(), batch), merged)


def test_merge_and_unload_refuses_non_finite_updates_and_changes_nothing(tiny_backbones):
    _, model = build(tiny_backbones, "bert", "peft", {"peft_type": "LOKR"})
    perturb(model)
    victim = next(p for a in adapters_of(model) for p in a.owned_parameters())
    with torch.no_grad():
        victim.view(-1)[0] = float("inf")
    before = {name: t.clone() for name, t in model.state_dict().items()}
    with pytest.raises(AdapterError, match="refusing to merge"):
        merge_and_unload(model)
    assert adapters_of(model) and not any(a.merged for a in adapters_of(model))
    assert all(
        torch.equal(t, before[n]) or not torch.isfinite(t).all() for n, t in model.state_dict().items()
    )
