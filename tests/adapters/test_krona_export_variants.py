"""export_peft and the KronA family: a variant PEFT LoKr can hold (inner ranks, decompose=both, a learned or
per-layer scale) must export to the same logits; one it cannot (a sum of terms, a DoRA split) must be refused
in one line."""

from __future__ import annotations

import copy

import pytest
import torch
from peft import PeftModel
from transformers import AutoModelForSequenceClassification

from src.adapters import AdapterError, apply, export_peft

from .conftest import batch_for, logits, method_settings, perturb

SHAPES = {"a_shape": [4, 4], "b_shape": [12, 12]}  # shapes LoKr can give a 48 x 48 layer


def assert_peft_export_gives_the_same_logits(backbone, model, tmp_path) -> None:
    export_peft(model, tmp_path / "peft")
    backbone.model.save_pretrained(tmp_path / "base")
    base = AutoModelForSequenceClassification.from_pretrained(tmp_path / "base")
    loaded = PeftModel.from_pretrained(base, tmp_path / "peft").eval()
    batch = batch_for("bert")
    torch.testing.assert_close(logits(loaded, batch), logits(model, batch), rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize(
    "settings",
    [
        {"inner_rank": 2},
        {"inner_rank": 2, "decompose": "both"},
        {"inner_rank": 8},  # r >= max(B) / 2: peft keeps w2 whole, filled with the product
        {"learn_scale": True, "scale": 3.0},
    ],
    ids=str,
)
def test_variant_exports_to_the_same_logits(tiny_backbones, tmp_path, settings):
    backbone = tiny_backbones["bert"]
    model = copy.deepcopy(backbone.model).eval()
    torch.manual_seed(0)
    apply(model, method_settings("krona", **SHAPES, **settings), backbone.placement())
    perturb(model)
    assert_peft_export_gives_the_same_logits(backbone, model, tmp_path)


@pytest.mark.parametrize("settings", [{"terms": 2}, {"weight_decompose": True}], ids=str)
def test_variant_without_a_lokr_form_is_refused(tiny_backbones, tmp_path, settings):
    backbone = tiny_backbones["bert"]
    model = copy.deepcopy(backbone.model).eval()
    apply(model, method_settings("krona", **SHAPES, **settings), backbone.placement())
    with pytest.raises(AdapterError, match="one Kronecker term without a magnitude split"):
        export_peft(model, tmp_path / "peft")
    assert not (tmp_path / "peft").exists()


def test_lokr_preset_exports_to_the_same_logits(tiny_backbones, tmp_path):
    backbone = tiny_backbones["bert"]
    model = copy.deepcopy(backbone.model).eval()
    torch.manual_seed(0)
    apply(model, method_settings("lokr", inner_rank=2), backbone.placement())
    perturb(model)
    assert_peft_export_gives_the_same_logits(backbone, model, tmp_path)
