"""The merge callback: merged before the test (after the best checkpoint is restored), outputs checked,
the merged model counted, non-mergeable methods reported, and everything unmerged afterwards."""

from __future__ import annotations

import copy
import json

import lightning as L
import pytest
import torch
from transformers import AutoModelForSequenceClassification

from src.adapters import Adapter, AdapterError, adapters_of
from src.adapters.methods.krona import KronA
from src.callbacks import MergeCallback, MergeMismatchError
from src.training.module import GlueModule, OptimSettings
from tests.conftest import QUICK, built_datamodule, built_model

TRAINED = ("optim.lr=0.05",)  # one large step, so the adapters change the outputs measurably


@pytest.mark.parametrize("method", ["krona", "lora"])
def test_merging_a_trained_adapter_leaves_predictions_unchanged(quick_run, method):
    results, _ = quick_run(
        "backbone=tiny_bert", f"adapter={method}", *TRAINED, "callbacks.latency.enabled=false"
    )
    merge = results["merge"]
    assert merge["status"] == "merged" and merge["not_mergeable"] == []
    assert merge["merged_adapters"] == 4  # query and value in 2 layers
    assert merge["max_abs_diff"] <= merge["tolerance"]
    assert merge["adapter_effect_max_abs"] > 100 * max(
        merge["max_abs_diff"], 1e-7
    )  # the check compared something
    assert merge["predictions_agree"]
    params = results["params"]
    assert merge["merged_params"] == merge["stripped_params"] == params["total"] - params["adapter"]
    assert merge["stripped_max_abs_diff"] <= merge["tolerance"]
    assert merge["merged_params_equal_backbone"]


def test_test_metrics_agree_with_and_without_merging(quick_run):
    common = ("backbone=tiny_bert", "adapter=krona", *TRAINED, "callbacks.latency.enabled=false")
    merged, _ = quick_run(*common)
    unmerged, _ = quick_run(*common, "callbacks.merge.enabled=false")
    assert "merge" not in unmerged
    assert merged["metrics"]["test"] == unmerged["metrics"]["test"]
    assert merged["metrics"]["validation"] == unmerged["metrics"]["validation"]


def test_non_mergeable_method_is_reported(quick_run):
    results, _ = quick_run("backbone=tiny_bert", "adapter=krona_b", "callbacks.latency.enabled=false")
    merge = results["merge"]
    assert merge["status"] == "not_mergeable"
    assert merge["not_mergeable"] == ["krona_b"]
    assert merge["merged_adapters"] == 0
    assert merge["merged_params"] == results["params"]["total"]
    assert "stripped_params" not in merge


def _trainer_and_module(
    make_config, callback: MergeCallback, adapter: str = "krona"
) -> tuple[L.Trainer, GlueModule, object]:
    cfg = make_config(*QUICK, "backbone=tiny_bert", f"adapter={adapter}")
    backbone = built_model(cfg)
    datamodule = built_datamodule(cfg, backbone)
    module = GlueModule(backbone, datamodule.task, OptimSettings(), {"validation": [""], "test": [""]})
    trainer = L.Trainer(
        callbacks=[callback], logger=False, enable_checkpointing=False, enable_progress_bar=False,
        enable_model_summary=False, limit_test_batches=1,
    )  # fmt: skip
    for layer in adapters_of(backbone.model):
        for param in [layer.B] if adapter == "krona" else layer.owned_parameters():
            torch.nn.init.normal_(
                param, std=1.0 if adapter == "krona" else 0.1
            )  # a non-zero update without training
    return trainer, module, datamodule


def test_adapters_are_unmerged_after_the_test_and_saved_when_asked(make_config, tmp_path):
    callback = MergeCallback(save=True, save_dir=str(tmp_path / "merged"))
    trainer, module, datamodule = _trainer_and_module(make_config, callback)
    weights = {n: p.detach().clone() for n, p in module.backbone.model.named_parameters()}
    trainer.test(module, datamodule=datamodule)
    assert callback.result["status"] == "merged"
    assert not any(a.merged for a in adapters_of(module.backbone.model))
    for name, param in module.backbone.model.named_parameters():
        torch.testing.assert_close(param, weights[name])
    assert (tmp_path / "merged" / "adapter" / "adapter.safetensors").exists()
    saved = type(module.backbone.model).from_pretrained(tmp_path / "merged" / "model")
    assert sum(p.numel() for p in saved.parameters()) == callback.result["merged_params"]


def test_a_merge_that_changes_outputs_fails_loudly_and_unmerges(make_config, monkeypatch):
    real_delta = KronA.delta_weight
    monkeypatch.setattr(KronA, "delta_weight", lambda self: 2 * real_delta(self))  # merge() != forward
    trainer, module, datamodule = _trainer_and_module(make_config, MergeCallback(tolerance=1e-4))
    weights = {n: p.detach().clone() for n, p in module.backbone.model.named_parameters()}
    with pytest.raises(MergeMismatchError, match="tolerance"):
        trainer.test(module, datamodule=datamodule)
    assert not any(a.merged for a in adapters_of(module.backbone.model))
    for name, param in module.backbone.model.named_parameters():
        torch.testing.assert_close(param, weights[name])


def test_saving_a_checkpoint_while_merged_is_refused(make_config):
    callback = MergeCallback()
    trainer, module, _ = _trainer_and_module(make_config, callback)
    adapters_of(module.backbone.model)[0].merge()
    with pytest.raises(AdapterError, match="twice"):
        callback.on_save_checkpoint(trainer, module, {})


def _owned(model) -> int:
    return sum(p.numel() for a in adapters_of(model) for p in a.owned_parameters())


def test_peft_merged_model_is_counted_by_what_it_owns_and_saves_a_plain_model(make_config, tmp_path):
    callback = MergeCallback(save=True, save_dir=str(tmp_path / "merged"))
    trainer, module, datamodule = _trainer_and_module(make_config, callback, adapter="peft")
    model = module.backbone.model
    lokr = _owned(model)
    assert lokr > 0
    trainer.test(module, datamodule=datamodule)
    merge = callback.result
    assert merge["status"] == "merged"
    assert merge["backbone_params"] == merge["params_total"] - lokr
    assert merge["merged_params"] == merge["stripped_params"] == merge["backbone_params"]
    assert merge["merged_params_equal_backbone"] and merge["predictions_agree"]

    loaded, info = AutoModelForSequenceClassification.from_pretrained(
        tmp_path / "merged" / "model", output_loading_info=True
    )
    assert not info["missing_keys"] and not info["unexpected_keys"], info
    batch = next(iter(datamodule.test_dataloader()))
    inputs = {k: batch[k] for k in ("input_ids", "attention_mask", "token_type_ids") if k in batch}
    with torch.no_grad():
        trained, reloaded = model.eval()(**inputs).logits, loaded.eval()(**inputs).logits
    assert (reloaded - trained).abs().max() <= merge["tolerance"]
    assert torch.equal(reloaded.argmax(-1), trained.argmax(-1))
    saved_config = json.loads((tmp_path / "merged" / "adapter" / "adapter_config.json").read_text())
    assert saved_config["task"] == "rte" and saved_config["peft_type"] == "LOKR"


def _strip_adapter_children_only(model):
    """The stripped copy as it was before unload existed: adapter children and hooks gone, peft's layers left."""
    stripped = copy.deepcopy(model)
    for module in list(stripped.modules()):
        module._forward_hooks.clear()
        for name, child in list(module.named_children()):
            if isinstance(child, Adapter):
                delattr(module, name)
    return stripped


def test_the_stripped_copy_check_fails_when_peft_layers_stay_behind(make_config, monkeypatch):
    monkeypatch.setattr("src.callbacks.merge.without_adapters", _strip_adapter_children_only)
    callback = MergeCallback()
    trainer, module, datamodule = _trainer_and_module(make_config, callback, adapter="peft")
    lokr = _owned(module.backbone.model)
    trainer.test(module, datamodule=datamodule)
    merge = callback.result
    assert not merge["merged_params_equal_backbone"]
    assert merge["stripped_params"] - merge["backbone_params"] == lokr
