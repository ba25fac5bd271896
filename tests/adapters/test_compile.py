"""Compiled training (``trainer.compile``): every method's model compiles in train mode as one graph (fullgraph: a
graph break raises) and gives eager's loss and gradients; the fused KronA layer does so through inductor's generated
code too; a run with ``trainer.compile`` ends with the eager run's scores.

Dropout is set to 0 so that eager and compiled draw no random numbers and must agree exactly (aot_eager runs the
same ATen operators, up to float32 rounding where a decomposition reorders a sum), the same to 1e-5."""

from __future__ import annotations

import copy

import pytest
import torch
from torch import nn

from src.adapters import METHODS, apply
from src.training.compiled import compile_in_place

from .conftest import batch_for, method_settings

# PEFT's LoKr layer draws ``torch.rand(1) > module_dropout`` in train mode (peft/tuners/lokr/layer.py), a
# data-dependent branch dynamo cannot trace: the peft wrapper compiles with one break there, in PEFT's code.
BREAKS_IN_PEFT = "peft"


def trainable(backbone, method: str) -> nn.Module:
    model = copy.deepcopy(backbone.model)
    torch.manual_seed(0)
    apply(model, method_settings(method), backbone.placement())
    for module in model.modules():
        if isinstance(module, nn.Dropout):
            module.p = 0.0
    with torch.no_grad():  # updates away from their zero start, so every factor gets a gradient
        for name, param in model.named_parameters():
            if param.requires_grad and not param.any():
                param.normal_(std=0.05, generator=torch.Generator().manual_seed(len(name)))
    return model.train()


def loss_and_gradients(model: nn.Module, call, batch) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    model.zero_grad(set_to_none=True)
    torch.manual_seed(7)  # a method that draws (MAdaKron picks a random expert) draws the same in both
    loss = call(**batch, labels=torch.tensor([0, 1])).loss
    loss.backward()
    grads = {n: p.grad.clone() for n, p in model.named_parameters() if p.requires_grad and p.grad is not None}
    return loss.detach(), grads


def assert_same_training_step(
    model: nn.Module, batch, backend: str, fullgraph: bool, tolerance: float
) -> None:
    eager_loss, eager_grads = loss_and_gradients(model, model, batch)
    torch._dynamo.reset()
    compile_in_place(model, "default", backend=backend, fullgraph=fullgraph)
    compiled_loss, compiled_grads = loss_and_gradients(model, model, batch)
    assert torch._dynamo.utils.counters["stats"]["unique_graphs"] >= 1  # it really ran compiled
    assert compiled_grads.keys() == eager_grads.keys() and eager_grads
    torch.testing.assert_close(compiled_loss, eager_loss, rtol=tolerance, atol=tolerance)
    for name, grad in eager_grads.items():
        torch.testing.assert_close(compiled_grads[name], grad, rtol=tolerance, atol=tolerance, msg=name)


@pytest.mark.parametrize("method", sorted(set(METHODS) - {BREAKS_IN_PEFT}))
def test_every_method_compiles_as_one_graph_with_eager_loss_and_gradients(tiny_backbones, method):
    torch._dynamo.utils.counters.clear()
    model = trainable(tiny_backbones["bert"], method)
    assert_same_training_step(model, batch_for("bert"), "aot_eager", fullgraph=True, tolerance=1e-5)


def test_peft_wrapper_breaks_only_in_peft_and_still_matches_eager(tiny_backbones):
    model = trainable(tiny_backbones["bert"], BREAKS_IN_PEFT)
    torch._dynamo.reset()
    explained = torch._dynamo.explain(copy.deepcopy(model))(**batch_for("bert"), labels=torch.tensor([0, 1]))
    assert explained.graph_break_count >= 1
    assert all("peft/tuners" in str(reason.user_stack) for reason in explained.break_reasons)
    torch._dynamo.utils.counters.clear()
    assert_same_training_step(model, batch_for("bert"), "aot_eager", fullgraph=False, tolerance=1e-5)


def test_fused_krona_layer_through_inductor_matches_eager(tiny_backbones):
    torch._dynamo.utils.counters.clear()
    model = trainable(tiny_backbones["bert"], "krona")
    assert_same_training_step(model, batch_for("bert"), "inductor", fullgraph=True, tolerance=1e-5)


def test_a_compiled_run_scores_as_the_eager_run(run_quick, tmp_path):
    common = ("backbone=tiny_bert", "adapter=krona", "task=rte", "seed=3")
    eager = run_quick(*common)
    torch._dynamo.reset()
    torch._dynamo.utils.counters.clear()
    compiled = run_quick(*common, "trainer.compile=true", "trainer.compile_backend=aot_eager")
    assert torch._dynamo.utils.counters["stats"]["unique_graphs"] >= 1
    assert compiled["config"]["trainer"]["compile"] is True
    assert compiled["metrics"] == eager["metrics"]
