"""The fused KronA layer (``kron_linear``) equals ``x (W + s kron(A, B))^T + bias`` in values and in every
gradient, whichever contraction route the factor shapes pick, across token chunks; and the installed
KronA layer takes the fused path exactly when it should."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from src.adapters.core.placement import Site, install_fused
from src.adapters.kron import fused as fused_module
from src.adapters.kron import kron_linear
from src.adapters.methods.krona import KronA

# (A shape, B shape, the plan contraction_plan picks: x with B?, per-token matmuls?): non-square factors,
# each contraction order in each strategy, and the lopsided extremes.
PLANS = [
    ((4, 2), (3, 5), (True, False)),
    ((3, 5), (4, 2), (False, False)),
    ((5, 1), (2, 6), (True, False)),
    ((1, 6), (5, 1), (False, False)),
    ((6, 4), (1, 1), (True, False)),
    ((32, 16), (16, 32), (True, True)),
    ((16, 32), (32, 16), (False, True)),
]
SHAPES = [(a, b) for a, b, _ in PLANS]


@pytest.mark.parametrize(("a_shape", "b_shape", "plan"), PLANS)
def test_cases_cover_the_plan_they_name(a_shape, b_shape, plan):
    assert fused_module.contraction_plan(a_shape, b_shape) == plan


def dense_reference(x, weight, bias, A, B, scale):
    return x @ (weight + scale * torch.kron(A, B)).T + (0 if bias is None else bias)


@pytest.mark.parametrize(("a_shape", "b_shape"), SHAPES)
@pytest.mark.parametrize("with_bias", [True, False])
def test_values_and_all_gradients_match_the_dense_layer(a_shape, b_shape, with_bias, monkeypatch):
    monkeypatch.setattr(
        fused_module, "TOKENS_PER_CHUNK", 4
    )  # 21 tokens: several chunks and a ragged last one
    generator = torch.Generator().manual_seed(sum(a_shape) * 31 + sum(b_shape))
    d_out, d_in = a_shape[0] * b_shape[0], a_shape[1] * b_shape[1]

    def leaf(*shape: int) -> torch.Tensor:
        return torch.randn(*shape, generator=generator, dtype=torch.float64).requires_grad_(True)

    x, weight, A, B = leaf(3, 7, d_in), leaf(d_out, d_in), leaf(*a_shape), leaf(*b_shape)
    bias = leaf(d_out) if with_bias else None
    inputs = [t for t in (x, weight, bias, A, B) if t is not None]
    upstream = torch.randn(3, 7, d_out, generator=generator, dtype=torch.float64)

    fused = kron_linear(x, weight, bias, [A, B], -1.5)
    dense = dense_reference(x, weight, bias, A, B, -1.5)
    torch.testing.assert_close(fused, dense, rtol=1e-12, atol=1e-12)
    for got, want in zip(
        torch.autograd.grad(fused, inputs, upstream),
        torch.autograd.grad(dense, inputs, upstream),
        strict=True,
    ):
        torch.testing.assert_close(got, want, rtol=1e-12, atol=1e-12)


def test_frozen_weight_gets_no_gradient_and_factors_do():
    torch.manual_seed(0)
    linear = nn.Linear(12, 12).requires_grad_(False)
    A, B = nn.Parameter(torch.randn(3, 4)), nn.Parameter(torch.randn(4, 3))
    kron_linear(torch.randn(5, 12), linear.weight, linear.bias, [A, B]).sum().backward()
    assert linear.weight.grad is None and linear.bias.grad is None
    assert A.grad is not None and A.grad.abs().sum() > 0 and B.grad.abs().sum() > 0


def installed_krona(d: int = 12, a_shape=(3, 4), b_shape=(4, 3)) -> tuple[nn.Module, KronA]:
    torch.manual_seed(0)
    holder = nn.Module()
    holder.add_module("layer", nn.Linear(d, d))
    krona = KronA(a_shape, b_shape, scale=2.0)
    nn.init.normal_(krona.B)
    install_fused(holder, Site("layer", "layer", d), krona)
    return holder, krona


def test_installed_layer_fuses_large_token_batches_and_factorises_small_ones(monkeypatch):
    holder, krona = installed_krona()
    calls = []
    monkeypatch.setattr(
        "src.adapters.kron.layer.kron_linear", lambda *a: calls.append(a) or fused_module.kron_linear(*a)
    )
    layer = holder.layer
    # 12x12 layer: kron(A, B) costs 144 multiply-adds; the factorised update 3*4*3 + 3*4*4 = 84 per token.
    few, many = torch.randn(1, 12), torch.randn(2, 12)
    expected = lambda x: layer.__class__.forward(layer, x) + 2.0 * x @ torch.kron(krona.A, krona.B).T  # noqa: E731
    torch.testing.assert_close(layer(few), expected(few))
    assert calls == []
    torch.testing.assert_close(layer(many), expected(many))
    assert len(calls) == 1


def test_half_precision_and_autocast_keep_the_update_a_separate_term(monkeypatch):
    holder, krona = installed_krona()
    x = torch.randn(64, 12)
    assert krona.fuses(holder.layer, x)
    assert not krona.fuses(holder.layer, x.double())  # dtype differs from the weight
    with torch.autocast("cpu", dtype=torch.bfloat16):
        assert not krona.fuses(holder.layer, x)
    holder.bfloat16()
    assert not krona.fuses(holder.layer, x.bfloat16())


def test_disabled_or_merged_layer_is_the_plain_linear():
    holder, krona = installed_krona()
    x = torch.randn(64, 12)
    plain = nn.functional.linear(x, holder.layer.weight, holder.layer.bias)
    krona.enabled = False
    torch.testing.assert_close(holder.layer(x), plain, rtol=0, atol=0)
    krona.enabled = True
    adapted = holder.layer(x)
    assert not torch.allclose(adapted, plain)
    krona.merge()
    torch.testing.assert_close(holder.layer(x), adapted, rtol=1e-6, atol=1e-6)
    krona.unmerge()
    torch.testing.assert_close(holder.layer(x), adapted, rtol=0, atol=0)


def test_deep_copy_runs_its_own_adapter():
    import copy

    holder, krona = installed_krona()
    clone = copy.deepcopy(holder)
    with torch.no_grad():
        clone.layer.krona.B.zero_()
    x = torch.randn(64, 12)
    torch.testing.assert_close(clone.layer(x), nn.functional.linear(x, clone.layer.weight, clone.layer.bias))
    assert not torch.allclose(holder.layer(x), clone.layer(x))
