"""Exact parameter counts from the papers on full-size backbones. Counting needs shapes, not values, so the
models are built on the meta device: no weights are allocated."""

from __future__ import annotations

import pytest
import torch

from src.adapters import count_parameters
from tests.conftest import built_model

BERT_BASE_WITHOUT_HEAD = 109_482_240
T5_BASE = 222_903_552
T5_KRONA_SHAPES = ("adapter.a_shape=[32,24]", "adapter.b_shape=[24,32]")


def counts(make_config, *overrides: str) -> dict:
    cfg = make_config(*overrides, "backbone.init=random", "task=rte")
    with torch.device("meta"):
        backbone = built_model(cfg)
    return count_parameters(backbone.model, backbone.placement())


@pytest.mark.parametrize(("r", "expected"), [(48, 599_232), (32, 414_864)])
def test_adakron_on_bert_base(make_config, r, expected):
    found = counts(make_config, "backbone=bert_base", "adapter=adakron", f"adapter.r={r}", "adapter.a=4")
    assert found["backbone"] == BERT_BASE_WITHOUT_HEAD
    assert found["adapter"] == expected
    assert found["trainable_without_head"] == expected  # layer norms and pooler stay frozen
    if r == 48:
        assert round(found["adapter_pct_of_backbone"], 3) == 0.547


def test_krona_on_t5_base_with_layer_norms(make_config):
    found = counts(
        make_config, "backbone=t5_base", "adapter=krona", *T5_KRONA_SHAPES, "adapter.train_layernorm=true"
    )
    assert found["backbone"] == T5_BASE
    assert found["adapter"] == 110_592
    assert found["trainable"] == 158_208
    assert round(found["trainable_pct_of_backbone"], 4) == 0.0710


def test_krona_auto_shapes_pick_the_paper_shapes_on_t5_base(make_config):
    assert counts(make_config, "backbone=t5_base", "adapter=krona")["adapter"] == 110_592


def test_lora_rank_1_matches_krona_on_t5_base(make_config):
    assert counts(make_config, "backbone=t5_base", "adapter=lora", "adapter.rank=1")["adapter"] == 110_592


@pytest.mark.parametrize(("method", "paper_pct"), [("compacter", 0.073), ("compacterpp", 0.047)])
def test_compacter_on_t5_base_with_layer_norms(make_config, method, paper_pct):
    found = counts(make_config, "backbone=t5_base", f"adapter={method}", "adapter.train_layernorm=true")
    assert round(found["trainable_pct_of_backbone"], 3) == paper_pct
