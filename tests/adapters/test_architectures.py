"""What the placement table gives each family, read on the tiny models: the right layers, heads (DeBERTa's new
pooler trains), norms, grouped-query widths; and the one-line refusals where a method cannot apply."""

from __future__ import annotations

import copy

import pytest
import torch

from src.adapters import AdapterError, apply
from src.adapters.methods.prefix import key_value_geometry
from src.backbones import BackboneError
from src.backbones.architectures import ARCHITECTURES, architecture
from tests.conftest import built_model, compose_config

from .conftest import batch_for, logits, method_settings, perturb


def test_every_site_names_a_module_and_every_target_a_linear(tiny_backbones):
    for family, backbone in tiny_backbones.items():
        placement, model = backbone.placement(), backbone.model
        for site in placement.ffn + placement.attention:
            model.get_submodule(site.reads), model.get_submodule(site.writes)
            assert site.branch and site.residual, f"{family}: {site.writes} declares no residual wiring"
            for path in (site.branch, site.residual, site.norm):
                if path:
                    model.get_submodule(path)
        layer_names = {name.rsplit(".", 1)[-1] for name, _ in model.named_modules()}
        assert set(placement.default_targets) <= layer_names, family
        assert placement.head_prefixes or backbone.text_to_text, f"{family}: no trainable head"
        assert any(isinstance(m, placement.norm_types) for m in model.modules()), family


def test_deberta_trains_its_newly_initialised_pooler(tiny_backbones):
    placement = tiny_backbones["deberta"].placement()
    model = copy.deepcopy(tiny_backbones["deberta"].model)
    apply(model, method_settings("lora"), placement)
    trainable = {name for name, p in model.named_parameters() if p.requires_grad}
    assert {"pooler.dense.weight", "pooler.dense.bias", "classifier.weight"} <= trainable
    assert any("query_proj" in name for name in trainable) and any("value_proj" in name for name in trainable)


@pytest.mark.parametrize("family", ["llama", "qwen2"])
def test_decoders_use_rmsnorm_and_grouped_query_widths(tiny_backbones, family):
    backbone = tiny_backbones[family]
    placement = backbone.placement()
    assert {t.__name__ for t in placement.norm_types} == {
        f"{type(backbone.model).__name__[: -len('ForSequenceClassification')]}RMSNorm"
    }
    v_proj = backbone.model.get_submodule(f"{placement.attention[0].reads}.v_proj")
    assert backbone.model.config.num_attention_heads == 4
    assert key_value_geometry(backbone.model, placement.hidden_size) == (2, v_proj.out_features) == (2, 24)
    assert placement.head_prefixes == ("score",)


@pytest.mark.parametrize("family", ["llama", "gpt2"])
def test_prefix_on_a_decoder_keeps_padding_and_causality(tiny_backbones, family):
    model = copy.deepcopy(tiny_backbones[family].model)
    torch.manual_seed(0)
    apply(model, method_settings("prefix"), tiny_backbones[family].placement())
    perturb(model)
    model.eval()
    batch = batch_for(family)
    left = {
        **batch,
        "attention_mask": batch["attention_mask"].clone(),
        "input_ids": batch["input_ids"].clone(),
    }
    left["attention_mask"][1] = torch.tensor(
        [0, 0, 0, 1, 1, 1, 1, 1, 1]
    )  # left padding: a causal row still sees it
    real = model.base_model(**left).last_hidden_state[1, 3:]
    left["input_ids"][1, :3] = 7  # only the padded positions of row 2
    torch.testing.assert_close(model.base_model(**left).last_hidden_state[1, 3:], real)
    hidden = model.base_model(**batch).last_hidden_state
    later = {**batch, "input_ids": batch["input_ids"].clone()}
    later["input_ids"][:, -1] = 11
    after = model.base_model(**later).last_hidden_state
    torch.testing.assert_close(
        after[:, :-1], hidden[:, :-1]
    )  # causal: a later token changes nothing before it
    assert not torch.allclose(after[0, -1], hidden[0, -1])


def test_prefix_eager_and_sdpa_agree_with_grouped_query_attention(tiny_backbones):
    outputs = []
    for attention in ("eager", "sdpa"):
        model = copy.deepcopy(tiny_backbones["llama"].model)
        model.set_attn_implementation(attention)
        torch.manual_seed(0)
        apply(model, method_settings("prefix"), tiny_backbones["llama"].placement())
        perturb(model)
        outputs.append(logits(model.eval(), batch_for("llama")))
    torch.testing.assert_close(outputs[0], outputs[1], rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize(
    ("family", "method", "reason"),
    [
        ("gpt2", "lora", "Conv1D"),
        ("gpt2", "krona", "Conv1D"),
        ("gpt2", "peft", "Conv1D"),  # peft's default LoKr has no Conv1D layer
        ("deberta", "prefix", "disentangled attention"),
    ],
)
def test_refusals_are_one_line_and_name_the_reason(tiny_backbones, family, method, reason):
    model = copy.deepcopy(tiny_backbones[family].model)
    with pytest.raises(AdapterError, match=reason) as error:
        apply(model, method_settings(method), tiny_backbones[family].placement())
    assert "\n" not in str(error.value)


def test_gpt2_takes_peft_lora_on_its_conv1d(tiny_backbones):
    model = copy.deepcopy(tiny_backbones["gpt2"].model)
    apply(model, method_settings("peft", peft_type="LORA"), tiny_backbones["gpt2"].placement())
    assert any(p.requires_grad and "lora_A" in n for n, p in model.named_parameters())


def test_unknown_model_type_and_wrong_family_are_refused_with_the_fix():
    with pytest.raises(BackboneError, match="no placement row.*architectures.py"):
        architecture("mamba", "decoder", "x")
    with pytest.raises(BackboneError, match="family: decoder"):
        built_model(
            compose_config(["backbone=tiny_llama", "backbone.family=encoder", "adapter=full", "task=rte"])
        )


def test_every_row_names_a_known_family():
    from src.backbones import families

    assert {row.kind for row in ARCHITECTURES.values()} <= set(families())


def test_decoder_pads_with_its_end_of_sequence_token_and_refuses_a_mismatch():
    from transformers import AutoTokenizer

    from tests.conftest import MINILM_DIR

    backbone = built_model(compose_config(["backbone=tiny_llama", "adapter=lora", "task=rte"]))
    assert backbone._tokenizer is None  # not loaded until used: a counts-only run needs no tokenizer
    tokenizer = AutoTokenizer.from_pretrained(MINILM_DIR)
    tokenizer.pad_token, tokenizer.eos_token = None, "[SEP]"  # like a Llama tokenizer: no padding token
    backbone.model.config.pad_token_id = None  # like a pretrained Llama config
    backbone.prepare_tokenizer(tokenizer)
    assert tokenizer.pad_token == "[SEP]" and backbone.model.config.pad_token_id == tokenizer.sep_token_id
    backbone.model.config.pad_token_id = 5
    with pytest.raises(BackboneError, match="pads with token 5 but the tokenizer with 102"):
        backbone.prepare_tokenizer(tokenizer)
