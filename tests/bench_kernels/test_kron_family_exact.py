"""Every KronA variant (k terms, per-term shapes, rank-r inner factors on B or both, learnable scale,
DoRA-style weight_decompose) computes ``x W'^T + b`` with W' from the dense formula, in values and in
EVERY gradient (x, W, bias, each factor part, scale, magnitude), in float64, on the fused path (one
GEMM, per-token factor contractions over several token chunks) and on the factorised path, for thin
shapes too."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from src.adapters.core.placement import Site, install_fused
from src.adapters.kron import fused as fused_module
from src.adapters.kron import kron_linear
from src.adapters.methods.krona import KronA

# (A shape, B shape) sets over a 12 x 30 layer (d_out = a1*b1 = 12, d_in = a2*b2 = 30): both contraction
# plans, thin sides of 1, and one list of different shapes per term.
SHAPES = {
    "plain": ((3, 5), (4, 6)),
    "thin_a": ((1, 6), (12, 5)),
    "thin_b": ((12, 30), (1, 1)),
    "per_term": ([(3, 5), (12, 1), (2, 30)], [(4, 6), (1, 30), (6, 1)]),
}
OPTIONS = {
    "k1": {},
    "k2": {"terms": 2},
    "k3_rank2": {"terms": 3, "inner_rank": 2},
    "rank3_both": {"inner_rank": 3, "decompose": "both"},
    "learn_scale": {"terms": 2, "learn_scale": True},
    "dora": {"weight_decompose": True},
    "everything": {
        "terms": 3,
        "inner_rank": 2,
        "decompose": "both",
        "learn_scale": True,
        "weight_decompose": True,
    },
}


def build(shapes: str, options: dict, seed: int = 0) -> tuple[nn.Module, KronA]:
    a_shape, b_shape = SHAPES[shapes]
    terms = len(a_shape) if isinstance(a_shape, list) else options.get("terms", 1)
    generator = torch.Generator().manual_seed(seed)
    linear = nn.Linear(30, 12).double()
    with torch.no_grad():
        linear.weight.copy_(torch.randn(12, 30, generator=generator, dtype=torch.float64))
        linear.bias.copy_(torch.randn(12, generator=generator, dtype=torch.float64))
    linear.requires_grad_(True)  # the frozen weight's and bias's gradients are checked too
    holder = nn.Module()
    holder.add_module("layer", linear)
    krona = KronA(a_shape, b_shape, -1.5, base_weight=linear.weight, **{**options, "terms": terms}).double()
    with torch.no_grad():  # every part non-zero, magnitude away from ||W + dW||, scale away from its init
        for param in krona.parameters():
            param.copy_(torch.randn(param.shape, generator=generator, dtype=torch.float64))
    install_fused(holder, Site("layer", "layer", 12), krona)
    return holder, krona


def dense_layer(x, linear: nn.Linear, krona: KronA) -> torch.Tensor:
    """The formula, from the parameters, with torch ops only."""
    delta = sum(torch.kron(krona.factor("A", i), krona.factor("B", i)) for i in range(krona.terms))
    weight = linear.weight + krona.scale * delta
    if krona.magnitude is not None:
        weight = krona.magnitude[:, None] * weight / torch.linalg.vector_norm(weight, dim=1, keepdim=True)
    return x @ weight.T + linear.bias


@pytest.mark.parametrize("shapes", SHAPES)
@pytest.mark.parametrize("options", OPTIONS)
@pytest.mark.parametrize("fused", [True, False], ids=["fused", "factorised"])
def test_values_and_every_gradient_match_the_dense_formula(shapes, options, fused, monkeypatch):
    monkeypatch.setattr(fused_module, "TOKENS_PER_CHUNK", 4)  # 3 x 7 tokens: several chunks and a ragged one
    holder, krona = build(shapes, OPTIONS[options])
    monkeypatch.setattr(KronA, "fuses", lambda self, host, x: fused)
    calls = []
    monkeypatch.setattr(fused_module.KronLinearFunction, "apply", _counting(calls))
    generator = torch.Generator().manual_seed(7)
    x = torch.randn(3, 7, 30, generator=generator, dtype=torch.float64, requires_grad=True)
    upstream = torch.randn(3, 7, 12, generator=generator, dtype=torch.float64)
    leaves = [x, *holder.parameters()]
    assert len(leaves) == 3 + len(list(krona.parameters()))

    got = holder.layer(x)
    assert len(calls) == int(fused)
    want = dense_layer(x, holder.layer, krona)
    torch.testing.assert_close(got, want, rtol=1e-12, atol=1e-12)
    for leaf, g, w in zip(
        leaves,
        torch.autograd.grad(got, leaves, upstream),
        torch.autograd.grad(want, leaves, upstream),
        strict=True,
    ):
        assert g.abs().sum() > 0, "every leaf must get a non-zero gradient here"
        torch.testing.assert_close(
            g, w, rtol=1e-10, atol=1e-10, msg=lambda m, leaf=leaf: f"{leaf.shape}: {m}"
        )


def _counting(calls: list):
    original = fused_module.KronLinearFunction.apply

    def apply(*args):
        calls.append(args)
        return original(*args)

    return apply


@pytest.mark.parametrize("plans", [((4, 2), (3, 5)), ((32, 16), (16, 32))])
def test_kron_linear_with_k_terms_and_a_tensor_scale(plans, monkeypatch):
    """Terms of one shape share the chunk's transposed copies; the per-token route has its own branch."""
    monkeypatch.setattr(fused_module, "TOKENS_PER_CHUNK", 5)
    a_shape, b_shape = plans
    generator = torch.Generator().manual_seed(3)
    d_out, d_in = a_shape[0] * b_shape[0], a_shape[1] * b_shape[1]

    def leaf(*shape: int) -> torch.Tensor:
        return torch.randn(shape, generator=generator, dtype=torch.float64).requires_grad_(True)

    x, weight, bias, scale = leaf(11, d_in), leaf(d_out, d_in), leaf(d_out), leaf()
    factors = [leaf(*shape) for _ in range(3) for shape in (a_shape, b_shape)]
    leaves = [x, weight, bias, scale, *factors]
    upstream = torch.randn(11, d_out, generator=generator, dtype=torch.float64)
    got = kron_linear(x, weight, bias, factors, scale)
    delta = sum(torch.kron(A, B) for A, B in zip(factors[0::2], factors[1::2], strict=True))
    want = x @ (weight + scale * delta).T + bias
    torch.testing.assert_close(got, want, rtol=1e-12, atol=1e-12)
    for g, w in zip(
        torch.autograd.grad(got, leaves, upstream), torch.autograd.grad(want, leaves, upstream), strict=True
    ):
        torch.testing.assert_close(g, w, rtol=1e-10, atol=1e-10)


def test_frozen_layer_and_fixed_scale_get_no_gradient_computed():
    holder, krona = build("plain", {"terms": 2})
    holder.layer.weight.requires_grad_(False)
    holder.layer.bias.requires_grad_(False)
    x = torch.randn(40, 30, dtype=torch.float64)
    assert krona.fuses(holder.layer, x)
    holder.layer(x).sum().backward()
    assert holder.layer.weight.grad is None and holder.layer.bias.grad is None
    assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in krona.parameters())


def test_k_terms_fuse_only_when_building_them_costs_less_than_the_factorised_update():
    holder, one = build("plain", {})
    _, three = build("plain", {"terms": 3})
    # 12 x 30 layer: building one product costs 360 multiply-adds; the factorised update min(120+90, 72+96)
    # = 168 per token per term, so 3 tokens fuse one term (504 >= 360) and three terms (1512 >= 1080) alike,
    # and 2 tokens fuse neither (336 < 360; 1008 < 1080).
    for tokens, expected in ((2, False), (3, True)):
        x = torch.randn(tokens, 30, dtype=torch.float64)
        assert one.fuses(holder.layer, x) is expected
        assert three.fuses(holder.layer, x) is expected


def test_half_precision_and_batch_one_keep_the_factorised_path():
    holder, krona = build("plain", {"terms": 2, "inner_rank": 2})
    x, many = torch.randn(1, 30, dtype=torch.float64), torch.randn(64, 30, dtype=torch.float64)
    assert not krona.fuses(holder.layer, x) and krona.fuses(holder.layer, many)
    dora_holder, dora = build("plain", {"terms": 2, "inner_rank": 2, "weight_decompose": True})
    assert dora.fuses(dora_holder.layer, x), "its norms build W + dW anyway: one GEMM with it at any batch"
    holder, krona = dora_holder, dora
    holder.bfloat16()
    assert not krona.fuses(holder.layer, many.bfloat16())
    out = holder.layer(many.bfloat16())
    reference = dense_layer(many, *_as_double(holder, krona))
    torch.testing.assert_close(out.double(), reference, rtol=0.05, atol=0.1 * reference.abs().max().item())


def _as_double(holder: nn.Module, krona: KronA):
    holder.double()
    return holder.layer, krona
