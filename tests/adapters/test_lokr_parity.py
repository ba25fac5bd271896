"""KronA with an inner rank is PEFT's LoKr: with PEFT's factors copied in (A = lokr_w1 or lokr_w1_a @ lokr_w1_b,
B_a, B_b = lokr_w2_a, lokr_w2_b) and PEFT's scale alpha / r, the delta weight, the outputs (fused and
factorised paths) and every factor's gradient agree in float64; adapter=lokr picks PEFT's shapes and
parameter count on a full-size model."""

from __future__ import annotations

import peft
import pytest
import torch
from torch import nn

from src.adapters import count_parameters, get_method
from src.adapters.core.placement import Site, install_fused
from src.adapters.methods.krona import KronA
from tests.conftest import built_model

# 36 x 24 layer: PEFT factorises 36 = 6 * 6 and 24 = 4 * 6, so w1 = A is (6, 4) and w2 = B is (6, 6); r = 2
# is below max(6, 6) / 2, so PEFT stores w2 as w2_a (6, 2) @ w2_b (2, 6), and with decompose_both w1 too.
D_OUT, D_IN, R, ALPHA = 36, 24, 2, 3.0
# PEFT's parameter names -> ours
NAMES = {
    "lokr_w1": "A",
    "lokr_w1_a": "A_a",
    "lokr_w1_b": "A_b",
    "lokr_w2": "B",
    "lokr_w2_a": "B_a",
    "lokr_w2_b": "B_b",
}


def linear(seed: int) -> nn.Linear:
    torch.manual_seed(seed)
    return nn.Linear(D_IN, D_OUT).double()


def peft_layer(decompose_both: bool) -> nn.Module:
    holder = nn.Module()
    holder.add_module("layer", linear(0))
    config = peft.LoKrConfig(r=R, alpha=ALPHA, target_modules=["layer"], decompose_both=decompose_both)
    peft.inject_adapter_in_model(config, holder)
    holder.double()
    generator = torch.Generator().manual_seed(1)
    with torch.no_grad():  # PEFT starts w1 at zero; give every factor a value
        for name, param in holder.layer.named_parameters():
            if "lokr" in name:
                param.copy_(torch.randn(param.shape, generator=generator, dtype=torch.float64))
    return holder.layer


def kronlab_layer(decompose_both: bool, peft_lokr: nn.Module) -> tuple[nn.Module, KronA]:
    holder = nn.Module()
    holder.add_module("layer", linear(0))
    lokr_config = get_method("lokr").config  # KronA's, with LoKr's defaults
    cfg = lokr_config(name="lokr", inner_rank=R, alpha=ALPHA, decompose="both" if decompose_both else "b")
    lokr = cfg.layer_for("layer", holder.layer, KronA).double()
    assert lokr.method == "lokr"
    install_fused(holder, Site("layer", "layer", D_OUT), lokr)
    ours = dict(lokr.named_parameters())
    theirs = {name.split(".")[0]: p for name, p in peft_lokr.named_parameters() if "lokr" in name}
    assert {NAMES[name] for name in theirs} == set(ours), "the same factors, part for part"
    with torch.no_grad():
        for name, param in theirs.items():
            ours[NAMES[name]].copy_(param)
    return holder.layer, lokr


@pytest.mark.parametrize("decompose_both", [False, True], ids=["w2_low_rank", "decompose_both"])
@pytest.mark.parametrize("tokens", [64, 1], ids=["fused", "factorised"])
def test_same_delta_outputs_and_factor_gradients_as_peft(decompose_both, tokens):
    theirs = peft_layer(decompose_both)
    layer, lokr = kronlab_layer(decompose_both, theirs)
    assert lokr.scale == theirs.scaling["default"] == ALPHA / R
    torch.testing.assert_close(
        lokr.delta_weight(), theirs.get_delta_weight("default"), rtol=1e-12, atol=1e-12
    )

    generator = torch.Generator().manual_seed(2)
    x = torch.randn(tokens, D_IN, generator=generator, dtype=torch.float64)
    upstream = torch.randn(tokens, D_OUT, generator=generator, dtype=torch.float64)
    assert lokr.fuses(layer, x) is (tokens > 1)
    x_ours, x_theirs = x.clone().requires_grad_(True), x.clone().requires_grad_(True)
    ours, reference = layer(x_ours), theirs(x_theirs)
    torch.testing.assert_close(ours, reference, rtol=1e-12, atol=1e-12)
    (ours * upstream).sum().backward()
    (reference * upstream).sum().backward()
    torch.testing.assert_close(x_ours.grad, x_theirs.grad, rtol=1e-12, atol=1e-12)
    for name, param in theirs.named_parameters():
        if "lokr" in name:
            mine = getattr(lokr, NAMES[name.split(".")[0]])
            torch.testing.assert_close(
                mine.grad, param.grad, rtol=1e-10, atol=1e-12, msg=lambda m, n=name: f"{n}: {m}"
            )


def counts(make_config, *overrides: str) -> dict:
    cfg = make_config("backbone=bert_base", "backbone.init=random", "task=rte", *overrides)
    with torch.device("meta"):
        backbone = built_model(cfg)
    return count_parameters(backbone.model, backbone.placement())


def test_lokr_preset_takes_peft_shapes_and_count_on_bert_base(make_config):
    ours = counts(make_config, "adapter=lokr")
    theirs = counts(
        make_config, "adapter=peft", "adapter.peft_type=LOKR", "adapter.peft_config={r: 8, alpha: 8}"
    )
    # 24 query/value layers of 768 x 768: A (24, 24) + B_a (32, 8) + B_b (8, 32) = 1,088 each
    assert ours["adapter"] == theirs["adapter"] == 24 * (24 * 24 + 32 * 8 + 8 * 32)
