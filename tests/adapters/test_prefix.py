"""Prefix tuning's attention wrapper: masks (padding, causality) still hold with the prefix in front, and the
eager and sdpa attention paths agree."""

from __future__ import annotations

import copy

import pytest
import torch

from src.adapters import AdapterError, apply

from .conftest import batch_for, logits, method_settings, perturb


def prefixed(tiny_backbones, family: str, attention: str = "sdpa"):
    backbone = tiny_backbones[family]
    model = copy.deepcopy(backbone.model)
    model.set_attn_implementation(attention)
    torch.manual_seed(0)
    apply(model, method_settings("prefix"), backbone.placement())
    perturb(model)
    return model.eval()


@pytest.mark.parametrize("family", ["bert", "t5"])
def test_eager_and_sdpa_agree(tiny_backbones, family):
    batch = batch_for(family)
    eager, sdpa = prefixed(tiny_backbones, family, "eager"), prefixed(tiny_backbones, family, "sdpa")
    torch.testing.assert_close(logits(eager, batch), logits(sdpa, batch), rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("attention", ["eager", "sdpa"])
def test_padding_stays_masked(tiny_backbones, attention):
    model = prefixed(tiny_backbones, "bert", attention)
    batch = batch_for("bert")
    changed = {**batch, "input_ids": batch["input_ids"].clone()}
    changed["input_ids"][1, 6:] = 7  # only the padded positions of row 2
    torch.testing.assert_close(logits(model, changed), logits(model, batch))


@pytest.mark.parametrize("attention", ["eager", "sdpa"])
def test_t5_decoder_stays_causal(tiny_backbones, attention):
    model = prefixed(tiny_backbones, "t5", attention)
    batch = batch_for("t5")
    batch.pop("attention_mask")  # no padding: the decoder gets no explicit mask and relies on causality
    changed = {**batch, "decoder_input_ids": batch["decoder_input_ids"].clone()}
    changed["decoder_input_ids"][:, -1] = 11
    before, after = logits(model, batch), logits(model, changed)
    torch.testing.assert_close(after[:, :-1], before[:, :-1])
    assert not torch.allclose(after[:, -1], before[:, -1])


def test_t5_generation_with_the_cache_matches_a_full_forward(tiny_backbones):
    model = prefixed(tiny_backbones, "t5")
    batch = batch_for("t5")
    generated = model.generate(
        input_ids=batch["input_ids"],
        attention_mask=batch["attention_mask"],
        max_new_tokens=4,
        do_sample=False,
    )
    full = logits(model, {**batch, "decoder_input_ids": generated[:, :-1]})
    assert torch.equal(full.argmax(-1), generated[:, 1:])


def test_refuses_a_second_prefix_and_unsupported_attention(tiny_backbones):
    backbone = tiny_backbones["bert"]
    model = prefixed(tiny_backbones, "bert")
    with pytest.raises(AdapterError, match="already has a prefix"):
        apply(model, method_settings("prefix"), backbone.placement())
    other = copy.deepcopy(backbone.model)
    other.config._attn_implementation = "flex_attention"
    with pytest.raises(AdapterError, match="sdpa"):
        apply(other, method_settings("prefix"), backbone.placement())
