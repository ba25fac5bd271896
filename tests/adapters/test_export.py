"""export_peft (LoRA -> PEFT LoRA, KronA -> PEFT LoKr) loads with PeftModel.from_pretrained to the same logits;
kronlab's own adapter config records what rebuilding needs and refuses a model of another shape; adapter=peft
takes any layer-adapting peft type from the CLI config with only that type's settings."""

from __future__ import annotations

import copy
import json

import pytest
import torch
from peft import PeftModel
from transformers import AutoModelForSequenceClassification, T5ForConditionalGeneration

from src.adapters import (
    METHODS,
    AdapterError,
    adapters_of,
    apply,
    export_peft,
    get_method,
    load_adapter,
    save_adapter,
)
from src.adapters.kron import lokr_factor_shapes
from tests.conftest import built_model, compose_config

from .conftest import batch_for, logits, method_settings, perturb

LOADERS = {"t5": T5ForConditionalGeneration}  # every other family: AutoModelForSequenceClassification
EXPORTS = {
    "lora": {},
    "krona": {"a_shape": [4, 4], "b_shape": [12, 12]},
}  # a shape pair LoKr can give a 48x48 layer


@pytest.fixture
def trained(tiny_backbones):
    def make(family: str, method: str, **overrides):
        backbone = tiny_backbones[family]
        model = copy.deepcopy(backbone.model).eval()
        torch.manual_seed(0)
        apply(model, method_settings(method, **overrides), backbone.placement())
        perturb(model)  # adapters and the head moved, as after training
        return model

    return make


# families whose query/value layers are all 48x48 (grouped-query decoders have narrower values; GPT-2 fuses them)
@pytest.mark.parametrize("family", ["bert", "t5", "deberta"])
@pytest.mark.parametrize("method", sorted(EXPORTS))
def test_export_loads_with_peft_to_the_same_logits(tiny_backbones, trained, tmp_path, family, method):
    model = trained(family, method, **EXPORTS[method])
    export_peft(model, tmp_path / "peft")
    tiny_backbones[family].model.save_pretrained(tmp_path / "base")  # the untrained base a user starts from

    config = json.loads((tmp_path / "peft" / "adapter_config.json").read_text())
    assert config["peft_type"] == {"lora": "LORA", "krona": "LOKR"}[method]
    base = LOADERS.get(family, AutoModelForSequenceClassification).from_pretrained(tmp_path / "base")
    batch = batch_for(family)
    assert not torch.allclose(logits(base.eval(), batch), logits(model, batch))
    loaded = PeftModel.from_pretrained(base, tmp_path / "peft").eval()
    expected = logits(model, batch)
    torch.testing.assert_close(
        logits(loaded, batch), expected, rtol=1e-5, atol=1e-5 * expected.abs().max().item()
    )


def test_krona_exports_as_full_lokr_factors_with_the_same_scale(trained, tmp_path):
    model = trained("bert", "krona", scale=2.0, **EXPORTS["krona"])
    export_peft(model, tmp_path)
    config = json.loads((tmp_path / "adapter_config.json").read_text())
    assert config["alpha"] / config["r"] == 2.0 and not config["decompose_both"]
    from safetensors.torch import load_file

    stored = load_file(str(tmp_path / "adapter_model.safetensors"))
    query = "bert.encoder.layer.0.attention.self.query"
    krona = model.get_submodule(f"{query}.krona")
    assert torch.equal(stored[f"base_model.model.{query}.lokr_w1"], krona.A)
    assert torch.equal(stored[f"base_model.model.{query}.lokr_w2"], krona.B)
    assert not [k for k in stored if "_w1_a" in k or "_w2_a" in k], "no decomposed factor"


def test_krona_shapes_lokr_cannot_hold_are_refused_naming_those_it_can(trained, tmp_path):
    model = trained("bert", "krona")  # auto: the balanced (8, 6)/(6, 8) for 48x48, which LoKr cannot produce
    assert tuple(adapters_of(model)[0].A.shape) == (8, 6)
    with pytest.raises(AdapterError, match=r"A=\[8, 6\] B=\[6, 8\].*\[4, 4\]/\[12, 12\]") as refused:
        export_peft(model, tmp_path / "peft")
    assert "\n" not in str(refused.value)
    assert not (tmp_path / "peft").exists()
    assert lokr_factor_shapes(48, 48, 4) == ((4, 4), (12, 12))


@pytest.mark.parametrize("method", sorted(METHODS))
def test_every_method_exports_or_is_refused_in_one_line(tiny_backbones, trained, tmp_path, method):
    """A method with a PEFT form (``register(..., to_peft=)``) writes a folder PEFT loads to the same logits, or
    refuses settings PEFT cannot hold in one line; one without is refused, naming the methods that have one."""
    model = trained("bert", method)
    try:
        export_peft(model, tmp_path / "peft")
    except AdapterError as refused:
        assert "\n" not in str(refused) and not (tmp_path / "peft").exists()
        if get_method(method).to_peft is None:
            assert "export_peft writes the methods with a PEFT form (krona, lokr, lora" in str(refused)
        return
    assert get_method(method).to_peft is not None
    tiny_backbones["bert"].model.save_pretrained(tmp_path / "base")
    base = AutoModelForSequenceClassification.from_pretrained(tmp_path / "base")
    loaded = PeftModel.from_pretrained(base, tmp_path / "peft").eval()
    batch = batch_for("bert")
    expected = logits(model, batch)
    torch.testing.assert_close(
        logits(loaded, batch), expected, rtol=1e-5, atol=1e-5 * expected.abs().max().item()
    )


def test_adapter_config_records_resolved_shapes_task_base_and_version(tiny_backbones, tmp_path):
    model = copy.deepcopy(tiny_backbones["bert"].model)
    installed = apply(model, method_settings("krona"), tiny_backbones["bert"].placement())
    assert not hasattr(model, "kronlab_adapter_config")  # the handle is returned, not attached to the model
    save_adapter(model, tmp_path, task="rte", base_model="bert-base-uncased", method=installed.config)
    config = json.loads((tmp_path / "adapter_config.json").read_text())
    assert config["name"] == "krona" and config["scale"] == installed.config.scale
    assert config["a_shape"] == [8, 6] and config["b_shape"] == [6, 8]
    assert config["task"] == "rte" and config["base_model"] == "bert-base-uncased"
    assert config["base_model_type"] == "bert" and config["kronlab_version"] not in (None, "unknown")
    query = "bert.encoder.layer.0.attention.self.query.krona"
    assert config["resolved_layers"][query] == {"a_shape": [8, 6], "b_shape": [6, 8]}
    assert config["tensor_shapes"][f"{query}.A"] == [8, 6]


def test_loading_into_a_model_of_other_shapes_fails_in_one_line_naming_both(trained, tmp_path):
    save_adapter(trained("bert", "krona"), tmp_path)
    other = trained("bert", "krona", a_shape=[4, 4], b_shape=[12, 12])
    before = {name: t.clone() for name, t in other.state_dict().items()}
    with pytest.raises(AdapterError, match=r"of shape \[8, 6\] but this model's is \[4, 4\]") as refused:
        load_adapter(other, tmp_path)
    assert "\n" not in str(refused.value)
    assert all(torch.equal(t, before[n]) for n, t in other.state_dict().items())


@pytest.mark.parametrize("peft_type", ["LORA", "LOKR", "LOHA", "IA3"])
def test_any_peft_type_builds_from_the_cli_config_with_its_own_defaults(peft_type):
    cfg = compose_config(["backbone=tiny_bert", "adapter=peft", f"adapter.peft_type={peft_type}", "task=rte"])
    backbone = built_model(cfg)
    layers = adapters_of(backbone.model)
    assert layers and {type(a.tuner).__name__.upper() for a in layers} == {f"{peft_type}MODEL"}
    assert sum(p.numel() for a in layers for p in a.owned_parameters()) > 0


def test_settings_another_peft_type_does_not_take_are_refused_naming_its_own():
    cfg = compose_config(
        ["backbone=tiny_bert", "adapter=peft", "adapter.peft_type=LORA", "adapter.peft_config={alpha: 4}"]
    )
    with pytest.raises(AdapterError, match=r"\['alpha'\], which LoraConfig does not take.*lora_alpha"):
        built_model(cfg)
