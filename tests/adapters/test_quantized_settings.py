"""``backbone.quantize`` as a setting: checked with the config before any model is built, one line each, and what
it builds: the real pretrained MiniLM loaded 4-bit through transformers' BitsAndBytesConfig with its head, norms
and embeddings in float; a run on a quantized tiny BERT writing its merge check."""

from __future__ import annotations

import builtins

import pytest
import torch
from torch import nn

from src.adapters.core.quantized import is_quantized
from src.backbones.base import BackboneError
from src.errors import UserError
from src.schema import check_config
from tests.conftest import MINILM_DIR, built_model, compose_config

TINY = ("backbone=tiny_bert", "task=rte", "train=false", "test=false")


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        (
            ("backbone.quantize=int4",),
            r"backbone\.quantize='int4': choose one of \['none', 'nf4', 'fp4', 'int8'\]",
        ),
        (
            ("backbone.quantize=nf4", "adapter=full"),
            r"adapter=full trains every backbone weight.*quantize=none",
        ),
        (
            ("backbone.quantize=int8", "adapter=krona", "adapter.weight_decompose=true"),
            r"weight_decompose=false",
        ),
        (("backbone.quantize=fp4", "adapter=peft"), r"peft has no bitsandbytes layer for LOKR"),
    ],
)
def test_refused_with_the_config_in_one_line(make_config, overrides, message):
    with pytest.raises(UserError, match=message) as refused:
        check_config(make_config(*TINY, *overrides))
    assert "\n" not in str(refused.value)


@pytest.mark.parametrize("method", ["lora", "krona", "lokr", "bitfit", "pa", "adakron"])
def test_methods_that_work_on_a_quantized_base_pass_the_check(make_config, method):
    check_config(make_config(*TINY, "backbone.quantize=nf4", f"adapter={method}"))


def test_without_bitsandbytes_the_check_says_how_to_install_it(make_config, monkeypatch):
    real_import = builtins.__import__

    def no_bitsandbytes(name, *args, **kwargs):
        if name == "bitsandbytes":
            raise ImportError("No module named 'bitsandbytes'")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_bitsandbytes)
    with pytest.raises(BackboneError, match=r"needs bitsandbytes: pip install"):
        check_config(make_config(*TINY, "backbone.quantize=nf4", "adapter=lora"))


@pytest.mark.skipif(not MINILM_DIR.exists(), reason="needs the real MiniLM in ../shared/models")
def test_the_pretrained_minilm_loads_4bit_with_its_head_norms_and_embeddings_in_float():
    float_model = built_model(compose_config(["backbone=minilm", "adapter=lora", "task=rte"])).model
    backbone = built_model(
        compose_config(["backbone=minilm", "backbone.quantize=nf4", "adapter=lora", "task=rte"])
    )
    model = backbone.model
    linears = {n: m for n, m in model.named_modules() if isinstance(m, nn.Linear)}
    assert type(linears["classifier"]) is nn.Linear
    assert all(is_quantized(m) for n, m in linears.items() if n != "classifier")
    assert model.bert.embeddings.word_embeddings.weight.dtype == torch.float32
    norms = [m for m in model.modules() if isinstance(m, nn.LayerNorm)]
    assert norms and all(m.weight.dtype == torch.float32 for m in norms)
    ids = torch.randint(1000, 2000, (2, 12))
    with torch.no_grad():  # the heads are new (random) in both: compare the pretrained encoders
        encoded_q = model.eval().bert(input_ids=ids).last_hidden_state
        encoded_f = float_model.eval().bert(input_ids=ids).last_hidden_state
    cosine = torch.nn.functional.cosine_similarity(encoded_q, encoded_f, dim=-1)
    # measured: mean 0.965 (NF4 moves each weight matrix by about 9% of its norm); a random encoder gives about 0
    assert 0.9 < cosine.mean() < 1, (
        f"the 4-bit encoder's outputs are at cosine {cosine.mean():.3f} of the float one's"
    )


def test_a_run_on_a_quantized_base_records_the_merge_refusal_or_the_dequantized_copy(run_quick):
    refused = run_quick("backbone=tiny_bert", "backbone.quantize=nf4", "adapter=lora", "task=rte")
    assert refused["status"] == "finished"
    assert refused["merge"]["status"] == "refused" and "dequantize" in refused["merge"]["reason"]
    copied = run_quick(
        "backbone=tiny_bert",
        "backbone.quantize=nf4",
        "adapter=krona",
        "task=rte",
        "callbacks.merge.dequantize=float32",
    )
    merge = copied["merge"]
    assert merge["status"] == "dequantized_copy" and merge["dequantize"] == "float32"
    assert merge["max_abs_diff"] <= merge["tolerance"] and merge["merged_adapters"] > 0


def test_t5_keeps_the_modules_it_keeps_in_float32_and_trains_one_step():
    """transformers keeps T5's ``wo`` in float32 when it quantizes (its ``_keep_in_fp32_modules``); so does the
    random-init path, or T5's forward would cast activations to the packed weight's uint8."""
    backbone = built_model(
        compose_config(["backbone=tiny_t5", "backbone.quantize=nf4", "adapter=krona", "task=rte"])
    )
    model = backbone.model
    float_linears = {n for n, m in model.named_modules() if type(m) is nn.Linear}
    assert float_linears and all(n.endswith((".wo", "lm_head")) for n in float_linears)
    assert any(is_quantized(m) for m in model.modules())
    ids = torch.randint(5, 1000, (2, 9))
    model(input_ids=ids, labels=torch.randint(5, 1000, (2, 3))).loss.backward()
    assert all(p.grad is None for n, p in model.named_parameters() if not p.requires_grad)


def test_gpt2_has_no_linear_layer_to_quantize_and_says_so():
    with pytest.raises(
        BackboneError, match=r"no nn\.Linear layer to quantize.*Conv1D.*backbone\.quantize=none"
    ):
        built_model(compose_config(["backbone=tiny_gpt2", "backbone.quantize=nf4", "adapter=pa", "task=rte"]))
