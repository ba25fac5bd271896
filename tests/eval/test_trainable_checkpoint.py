"""Adapter-sized checkpoints: only what trains is stored, and loading refuses a checkpoint of another model."""

from __future__ import annotations

import lightning as L
import pytest

from src.data import get_task
from src.training.module import GlueModule, OptimSettings
from src.training.trainable_checkpoint import FROZEN_KEY, CheckpointError
from tests.conftest import built_model, compose_config

EVAL_NAMES = {"validation": [""], "test": [""]}


def module_for(*overrides: str, seed: int = 42, backbone: str = "tiny_bert") -> GlueModule:
    L.seed_everything(seed)
    backbone = built_model(compose_config([f"backbone={backbone}", "task=rte", *overrides]))
    return GlueModule(backbone, get_task("rte"), OptimSettings(), EVAL_NAMES)


def saved(module: GlueModule) -> dict:
    """What Lightning hands to ``on_save_checkpoint`` (its weights part) and then writes."""
    checkpoint = {"state_dict": {k: v.clone() for k, v in module.state_dict().items()}}
    module.on_save_checkpoint(checkpoint)
    return checkpoint


@pytest.mark.parametrize("backbone", ["tiny_bert", "tiny_t5"])
def test_lora_checkpoint_stores_only_the_trainable_parameters(backbone):
    module = module_for("adapter=lora", backbone=backbone)
    trainable = {name for name, p in module.named_parameters(remove_duplicate=False) if p.requires_grad}
    checkpoint = saved(module)
    assert set(checkpoint["state_dict"]) == trainable
    assert set(checkpoint[FROZEN_KEY]) == {
        n for n, p in module.named_parameters(remove_duplicate=False) if not p.requires_grad
    }
    assert sum(t.numel() for t in checkpoint["state_dict"].values()) < 0.01 * sum(
        p.numel() for p in module.parameters()
    )


def test_full_fine_tuning_stores_everything():
    module = module_for("adapter=full")
    checkpoint = saved(module)
    assert set(checkpoint["state_dict"]) == set(module.state_dict())
    assert FROZEN_KEY not in checkpoint


@pytest.mark.parametrize("backbone", ["tiny_bert", "tiny_t5"])  # T5: tied embeddings under three names
def test_loading_fills_in_the_frozen_backbone_and_restores_the_trained_weights(backbone):
    trained = module_for("adapter=lora", backbone=backbone)
    for param in trained.parameters():
        if param.requires_grad:
            param.data.add_(0.5)  # stands for training
    checkpoint = saved(trained)
    fresh = module_for("adapter=lora", backbone=backbone)
    fresh.on_load_checkpoint(checkpoint)
    fresh.load_state_dict(checkpoint["state_dict"], strict=True)  # what Lightning does next
    for (name, mine), theirs in zip(fresh.state_dict().items(), trained.state_dict().values(), strict=True):
        assert mine.equal(theirs), name


def test_an_old_full_checkpoint_loads_unchanged():
    trained = module_for("adapter=lora")
    old = {"state_dict": {k: v.clone() for k, v in trained.state_dict().items()}}  # saved before this format
    fresh = module_for("adapter=lora")
    fresh.on_load_checkpoint(old)
    assert set(old["state_dict"]) == set(fresh.state_dict())


@pytest.mark.parametrize(
    ("loaded_into", "message"),
    [
        (("adapter=lora", "adapter.rank=4"), "of shape \\(8, 48\\), this model \\(4, 48\\)"),
        (("adapter=krona",), "holds .* tensors this model lacks"),
        (("adapter=lora", "adapter.train_layernorm=true"), "lacks .* tensors this model needs"),
        (("adapter=lora", "backbone.config.hidden_size=64"), "another backbone or adapter shape"),
    ],
)
def test_a_checkpoint_of_another_model_is_refused_in_one_line(loaded_into, message):
    checkpoint = saved(module_for("adapter=lora"))
    with pytest.raises(CheckpointError, match=message) as refused:
        module_for(*loaded_into).on_load_checkpoint(checkpoint)
    assert "\n" not in str(refused.value)


def test_a_checkpoint_trained_on_another_frozen_backbone_is_refused():
    # tiny_bert is random-init: another seed builds another backbone, which the checkpoint cannot fit
    checkpoint = saved(module_for("adapter=lora", seed=1))
    with pytest.raises(CheckpointError, match="trained on another frozen backbone: backbone.model.bert"):
        module_for("adapter=lora", seed=2).on_load_checkpoint(checkpoint)
    module_for("adapter=lora", seed=1).on_load_checkpoint(checkpoint)  # the same seed fits
