"""KronA^B, KronA^B_res, AdaKron and MAdaKron against references written from the formulas in SPEC §2,
with non-square factors (row-major vs column-major mistakes only show there)."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from src.adapters import AdapterError, build_config
from src.adapters.kron import factor_parameter_count, shapes_closest_to_budget, valid_factor_shapes
from src.adapters.methods.adakron import AdaKron
from src.adapters.methods.krona_b import KronABlock
from src.adapters.methods.madakron import MAdaKron


def filled(block: nn.Module, seed: int = 0) -> nn.Module:
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for param in block.parameters():
            param.copy_(torch.randn(param.shape, generator=generator))
    return block


def test_krona_b_is_x_kron_a_b_transposed_plus_bias():
    block = filled(KronABlock((3, 5), (4, 2), scale=4.0, biases=1))
    x = torch.randn(2, 7, 10)
    expected = x @ (4.0 * torch.kron(block.A, block.B)).T + block.bias
    torch.testing.assert_close(block(x), expected)


def test_krona_b_two_biases_and_activation_apply_between_the_products():
    block = filled(KronABlock((3, 5), (4, 2), scale=2.0, biases=2, activation_name="gelu"))
    x = torch.randn(6, 10)
    X = x.reshape(6, 5, 2)  # (a2, b2) per token
    inner = torch.nn.functional.gelu(torch.einsum("kl,njl->njk", block.B, X) + block.inner_bias)
    expected = 2.0 * torch.einsum("ij,njk->nik", block.A, inner).reshape(6, 12) + block.bias
    torch.testing.assert_close(block(x), expected)


def test_separate_products_without_activation_equal_the_fused_kernel():
    fused = filled(KronABlock((3, 5), (4, 2), scale=2.0, biases=0))
    split = filled(KronABlock((3, 5), (4, 2), scale=2.0, biases=0, activation_name="none"))
    split.separate_products = True
    x = torch.randn(4, 10)
    torch.testing.assert_close(split(x), fused(x))


@pytest.mark.parametrize(("residual", "gate"), [("scalar", lambda p: p), ("sigres", torch.sigmoid)])
def test_krona_res_adds_a_learnable_scaled_residual(residual, gate):
    block = filled(KronABlock((2, 3), (6, 4), scale=4.0, biases=1, residual=residual))
    x = torch.randn(5, 12)
    expected = x @ (4.0 * torch.kron(block.A, block.B)).T + block.bias + gate(block.residual_scale) * x
    torch.testing.assert_close(block(x), expected)


def test_residual_needs_a_square_update():
    with pytest.raises(AdapterError, match="d_in == d_out"):
        KronABlock((3, 5), (4, 2), scale=1.0, residual="scalar")


def test_residual_initialised_to_one():
    assert KronABlock((2, 3), (6, 4), scale=1.0, residual="scalar").residual_scale.item() == 1.0


def test_budget_picks_the_closest_valid_count():
    for budget in (100, 1536, 5000, 40_000):
        a, b = shapes_closest_to_budget(768, 768, budget)
        best = min(abs(factor_parameter_count(*ab) - budget) for ab in valid_factor_shapes(768, 768))
        assert a[0] * b[0] == 768 and a[1] * b[1] == 768
        assert abs(factor_parameter_count(a, b) - budget) == best
    assert shapes_closest_to_budget(768, 768, 1536) == ((32, 24), (24, 32))  # not the rank-1 (768,1)/(1,768)


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"name": "krona", "a_shape": [32, 24], "b_shape": "auto"}, "set both"),
        ({"name": "krona", "a_shape": [32, 24], "b_shape": [24, 32], "budget": 100}, "budget only applies"),
        ({"name": "krona_b", "biases": 3}, "biases"),
        ({"name": "krona_b", "activation": "swishy"}, "activation"),
        ({"name": "krona_res", "residual": "gate"}, "residual"),
        ({"name": "adakron", "r": 48, "a": 5}, r"a in \[1, 2, 3, 4, 6, 8, 12, 16, 24, 48\]"),
    ],
)
def test_bad_settings_say_what_to_do(settings, message):
    with pytest.raises(AdapterError, match=message):
        build_config(settings)


def test_adakron_is_x_plus_u_gelu_kron_w2x_w1x():
    adapter = filled(AdaKron(hidden=10, r=6, a=2))
    x = torch.randn(3, 10)
    rows = []
    for token in x:
        bottleneck = torch.kron(adapter.w2(token), adapter.w1(token))  # element i*(r/a)+j = (W2x)_i (W1x)_j
        rows.append(token + adapter.up(torch.nn.functional.gelu(bottleneck)))
    torch.testing.assert_close(adapter(x), torch.stack(rows))


def test_adakron_init_is_normal_002_with_zero_biases():
    adapter = AdaKron(hidden=768, r=48, a=4)
    assert all(torch.count_nonzero(layer.bias) == 0 for layer in (adapter.w1, adapter.w2, adapter.up))
    assert abs(adapter.up.weight.std().item() - 0.02) < 0.001


def test_madakron_averages_experts_in_eval_and_samples_one_in_training():
    adapter = filled(MAdaKron(hidden=8, r=4, a=2, num_experts=3))
    x = torch.randn(5, 8)

    def with_w2(weight, bias):
        reference = AdaKron(hidden=8, r=4, a=2)
        reference.load_state_dict(
            {k: v for k, v in adapter.state_dict().items() if not k.startswith("expert")}, strict=False
        )
        with torch.no_grad():
            reference.w2.weight.copy_(weight)
            reference.w2.bias.copy_(bias)
        return reference(x)

    torch.testing.assert_close(
        adapter.eval()(x), with_w2(adapter.expert_weight.mean(0), adapter.expert_bias.mean(0))
    )
    per_expert = [with_w2(adapter.expert_weight[e], adapter.expert_bias[e]) for e in range(3)]
    adapter.train()
    seen = set()
    for _ in range(30):
        out = adapter(x)
        matches = [e for e, ref in enumerate(per_expert) if torch.allclose(out, ref)]
        assert len(matches) == 1
        seen.add(matches[0])
    assert len(seen) > 1
