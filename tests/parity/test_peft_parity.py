"""Parity with an implementation nobody here wrote: in kronlab's own training loop (GlueModule + Lightning
Trainer, same real SST-2 rows, same seed), kronlab's LoRA against PEFT's LoRA and KronA against PEFT's LoKr
with full factors of the same shapes, the same initial values (copied across) and the same scale. Where the
maths is identical the training loss must agree at every step.

Dropout is off in the backbone: PEFT's LoKr draws a random number per layer and forward (module dropout),
which would shift every later dropout mask of the shared random stream.
"""

from __future__ import annotations

from pathlib import Path

import lightning as L
import pytest
import torch
from lightning.pytorch.callbacks import Callback
from omegaconf import OmegaConf

from src.adapters.methods.krona import KronA
from src.adapters.methods.lora import LoRA
from src.run.build import build_trainer
from src.training.module import GlueModule, OptimSettings
from tests.conftest import built_datamodule, built_model, compose_config

STEPS = 24
D = 48  # tiny_bert's hidden size
LOKR_FACTOR = 16  # PEFT LoKr factorises 48 as (16, 3): w1 16 x 16, w2 3 x 3, both full when r >= 3 / 2
LOOP = (
    "backbone=tiny_bert", "task=sst2", "seed=5", "trainer=cpu", f"trainer.max_steps={STEPS}", "trainer.max_epochs=1",
    "trainer.limit_val_batches=0", "+trainer.enable_checkpointing=false", "logger=csv", "callbacks=none",
    "data.max_train_samples=192", "data.batch_size=8", "data.max_length=32", "optim.lr=1e-2",
    "+backbone.config.hidden_dropout_prob=0.0", "+backbone.config.attention_probs_dropout_prob=0.0",
)  # fmt: skip
PEFT_LORA = ("adapter=peft", "adapter.peft_type=LORA", "adapter.peft_config={r: 4, lora_alpha: 4}")
KRONA = ("adapter=krona", f"adapter.a_shape=[{LOKR_FACTOR},{LOKR_FACTOR}]", f"adapter.b_shape=[{D // LOKR_FACTOR},{D // LOKR_FACTOR}]",
         "adapter.init=b_kaiming", "adapter.scale=1.0")  # fmt: skip
PEFT_LOKR = ("adapter=peft", "adapter.peft_type=LOKR", f"adapter.peft_config={{r: 4, alpha: 4, decompose_factor: {LOKR_FACTOR}}}")  # fmt: skip


class LossRecorder(Callback):
    def __init__(self) -> None:
        self.losses: list[float] = []

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx) -> None:
        self.losses.append(float(outputs["loss"]))


def build(tmp_path: Path, *overrides: str):
    cfg = compose_config([*LOOP, *overrides], tmp_path)
    L.seed_everything(cfg.seed, workers=True)
    return cfg, built_model(cfg)


def train(cfg, backbone, tmp_path: Path) -> list[float]:
    """src.train's loop without the run bookkeeping: the same datamodule, module, optimiser and Trainer."""
    datamodule = built_datamodule(cfg, backbone)
    module = GlueModule(
        backbone,
        datamodule.task,
        OptimSettings(**OmegaConf.to_container(cfg.optim)),
        {"validation": [""], "test": [""]},
    )
    trainer = build_trainer(cfg, tmp_path)
    recorder = LossRecorder()
    trainer.callbacks.append(recorder)
    trainer.fit(module, datamodule=datamodule)
    return recorder.losses


def base_state(model: torch.nn.Module) -> dict[str, torch.Tensor]:
    """The backbone and head weights, under the names they have without PEFT's wrapping."""
    return {
        name.replace(".base_layer", ""): value
        for name, value in model.state_dict().items()
        if not any(part in name for part in ("lora_", "lokr_", ".A", ".B"))
    }


def modules_of(model: torch.nn.Module, kind) -> list[torch.nn.Module]:
    return [m for m in model.modules() if isinstance(m, kind)]


def peft_layers(model: torch.nn.Module, attribute: str) -> list[torch.nn.Module]:
    return [m for m in model.modules() if hasattr(m, attribute) and hasattr(m, "get_base_layer")]


@torch.no_grad()
def copy_lora(ours: torch.nn.Module, theirs: torch.nn.Module) -> int:
    pairs = list(zip(modules_of(ours, LoRA), peft_layers(theirs, "lora_A"), strict=True))
    for lora, layer in pairs:
        layer.lora_A["default"].weight.copy_(lora.A)
        layer.lora_B["default"].weight.copy_(lora.B)
        assert layer.scaling["default"] == lora.scale
    return len(pairs)


@torch.no_grad()
def copy_krona(ours: torch.nn.Module, theirs: torch.nn.Module) -> int:
    pairs = list(zip(modules_of(ours, KronA), peft_layers(theirs, "lokr_w1"), strict=True))
    for krona, layer in pairs:
        w1, w2 = layer.lokr_w1["default"], layer.lokr_w2["default"]  # full factors: no lokr_w2_a/_b
        assert w1.shape == krona.A.shape and w2.shape == krona.B.shape
        assert not w1.any() and not krona.A.any()  # the zero factor is the first one in both
        w1.copy_(krona.A)
        w2.copy_(krona.B)
        assert layer.scaling["default"] == krona.scale
    return len(pairs)


def lora_factors(ours: torch.nn.Module, theirs: torch.nn.Module) -> list[tuple[torch.Tensor, torch.Tensor]]:
    pairs = zip(modules_of(ours, LoRA), peft_layers(theirs, "lora_A"), strict=True)
    return [
        (p, q)
        for lora, layer in pairs
        for p, q in ((lora.A, layer.lora_A["default"].weight), (lora.B, layer.lora_B["default"].weight))
    ]


def krona_factors(ours: torch.nn.Module, theirs: torch.nn.Module) -> list[tuple[torch.Tensor, torch.Tensor]]:
    pairs = zip(modules_of(ours, KronA), peft_layers(theirs, "lokr_w1"), strict=True)
    return [
        (p, q)
        for krona, layer in pairs
        for p, q in ((krona.A, layer.lokr_w1["default"]), (krona.B, layer.lokr_w2["default"]))
    ]


def paired_losses(
    tmp_path: Path, ours: tuple[str, ...], theirs: tuple[str, ...], copy, factors
) -> tuple[list, list]:
    cfg_ours, model_ours = build(tmp_path / "ours", *ours)
    cfg_theirs, model_theirs = build(tmp_path / "theirs", *theirs)
    reference = base_state(model_ours.model)
    assert reference.keys() == base_state(model_theirs.model).keys()
    assert all(torch.equal(reference[k], v) for k, v in base_state(model_theirs.model).items())
    assert copy(model_ours.model, model_theirs.model) == 4  # query and value in both layers
    initial = [p.detach().clone() for p, _ in factors(model_ours.model, model_theirs.model)]
    losses = (
        train(cfg_ours, model_ours, tmp_path / "ours"),
        train(cfg_theirs, model_theirs, tmp_path / "theirs"),
    )
    trained = factors(model_ours.model, model_theirs.model)
    # the factors trained, and both implementations moved them alike (the loss alone barely sees a tiny update)
    assert all((p - before).abs().max() > 1e-3 for (p, _), before in zip(trained, initial, strict=True))
    for p, q in trained:
        torch.testing.assert_close(q, p, rtol=1e-4, atol=1e-5)
    return losses


def assert_same_losses(ours: list[float], theirs: list[float]) -> None:
    assert len(ours) == len(theirs) == STEPS
    assert max(ours) - min(ours) > 0.05  # it trains: the loss moves
    torch.testing.assert_close(torch.tensor(theirs), torch.tensor(ours), rtol=1e-5, atol=1e-5)


@pytest.mark.slow
def test_lora_matches_peft_lora_step_by_step(tmp_path: Path):
    ours, theirs = paired_losses(
        tmp_path, ("adapter=lora", "adapter.rank=4"), PEFT_LORA, copy_lora, lora_factors
    )
    assert_same_losses(ours, theirs)


@pytest.mark.slow
def test_krona_matches_peft_lokr_with_full_factors_step_by_step(tmp_path: Path):
    ours, theirs = paired_losses(tmp_path, KRONA, PEFT_LOKR, copy_krona, krona_factors)
    assert_same_losses(ours, theirs)
