"""Parity on a 4-bit base. kronlab's LoRA on a bitsandbytes NF4 layer against PEFT's LoRA on the same layer (PEFT's
own bitsandbytes LoRA layer, ``peft.tuners.lora.bnb``), the same factor values: outputs and factor gradients to
float tolerance. KronA's update on a 4-bit layer (its bypass form: the layer's own forward plus the factorised
update) against its update on the dequantized float layer (where it fuses W + dW into one GEMM)."""

from __future__ import annotations

import copy

import pytest
import torch
from torch import nn

from src.adapters import Placement, adapters_of, apply
from src.adapters.core.quantized import dequantized_linear
from src.adapters.methods.lora import LoRA
from src.backbones.quantize import bnb_config, quantize_linears
from tests.adapters.conftest import batch_for
from tests.adapters.quantized_helpers import quantized_backbone

peft = pytest.importorskip("peft")
peft_bnb = pytest.importorskip("peft.tuners.lora.bnb")


def with_random_factors(model: nn.Module, seed: int = 7) -> None:
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for adapter in adapters_of(model):
            for param in adapter.owned_parameters():
                param.copy_(torch.randn(param.shape, generator=generator) * 0.1)


@pytest.mark.parametrize("mode", ["nf4", "fp4"])
def test_kronlab_lora_equals_peft_lora_on_the_same_4bit_layers(mode):
    backbone = quantized_backbone("bert", mode)
    ours, theirs = copy.deepcopy(backbone.model), copy.deepcopy(backbone.model)
    apply(ours, {"name": "lora", "rank": 4, "alpha": 8.0}, backbone.placement())
    with_random_factors(ours)
    config = peft.LoraConfig(r=4, lora_alpha=8, target_modules=["query", "value"], lora_dropout=0.0)
    theirs = peft.inject_adapter_in_model(config, theirs)
    peft_layers = {n: m for n, m in theirs.named_modules() if isinstance(m, peft_bnb.Linear4bit)}
    assert len(peft_layers) == len([a for a in adapters_of(ours) if isinstance(a, LoRA)]) == 4
    for name, layer in peft_layers.items():
        lora = ours.get_submodule(f"{name}.lora")
        with torch.no_grad():
            layer.lora_A["default"].weight.copy_(lora.A)
            layer.lora_B["default"].weight.copy_(lora.B)
    batch = {**batch_for("bert"), "labels": torch.tensor([0, 1])}
    out_ours, out_theirs = (
        ours.eval()(**batch),
        theirs.eval()(**batch),
    )  # eval: no dropout, gradients still flow
    torch.testing.assert_close(out_ours.logits, out_theirs.logits, rtol=1e-5, atol=1e-6)
    assert not torch.allclose(out_ours.logits, backbone.model(**batch_for("bert")).logits), (
        "the update must show"
    )
    out_ours.loss.backward()
    out_theirs.loss.backward()
    for name, layer in peft_layers.items():
        lora = ours.get_submodule(f"{name}.lora")
        torch.testing.assert_close(lora.A.grad, layer.lora_A["default"].weight.grad, rtol=1e-4, atol=1e-7)
        torch.testing.assert_close(lora.B.grad, layer.lora_B["default"].weight.grad, rtol=1e-4, atol=1e-7)


class OneLayer(nn.Module):
    def __init__(self, layer: nn.Module) -> None:
        super().__init__()
        self.proj = layer

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.proj(x)


PLACEMENT = Placement(
    family="test", hidden_size=64, default_targets=("proj",), ffn=(), attention=(), head_prefixes=()
)
KRONA = {"name": "krona", "a_shape": [8, 4], "b_shape": [12, 16]}  # non-square factors of a 96 x 64 layer


@pytest.mark.parametrize("mode", ["nf4", "fp4", "int8"])
def test_krona_bypass_update_on_a_quantized_layer_equals_its_update_on_the_dequantized_layer(mode):
    torch.manual_seed(0)
    quantized = quantize_linears(OneLayer(nn.Linear(64, 96)), bnb_config(mode, ()))
    dequantized = OneLayer(dequantized_linear(quantized.proj, torch.float32))
    for model in (quantized, dequantized):
        apply(model, KRONA, PLACEMENT)
        with_random_factors(model)
    x = torch.randn(2, 300, 64)  # enough tokens that the float layer fuses W + dW into one GEMM
    q_adapter, f_adapter = adapters_of(quantized)[0], adapters_of(dequantized)[0]
    assert f_adapter.fuses(dequantized.proj, x) and not q_adapter.fuses(quantized.proj, x)
    with torch.no_grad():
        q_update = quantized(x) - type(quantized.proj).forward(quantized.proj, x)
        f_update = dequantized(x) - nn.Linear.forward(dequantized.proj, x)
    assert f_update.abs().max() > 0.1
    # LLM.int8 rounds x to 8 bits in its own forward, which the bypass subtracts again: the update is exact
    torch.testing.assert_close(q_update, f_update, rtol=1e-4, atol=1e-4 * f_update.abs().max().item())
