"""The KronA family on real (tiny) models: every variant merges and unmerges bit for bit, starts as the base
model exactly when its config says so, counts its parameters as its modules hold them, picks shapes by
budget for every variant, and the SVD init computes the nearest Kronecker sum of the frozen weight."""

from __future__ import annotations

import itertools
import json

import pytest
import torch

from src.adapters import (
    AdapterError,
    adapters_of,
    build_config,
    count_parameters,
    load_adapter,
    merge_all,
    save_adapter,
    unmerge_all,
)
from src.adapters.kron import rearranged, valid_factor_shapes
from src.adapters.methods.krona import KronA, KronAConfig
from tests.conftest import built_model

from .conftest import batch_for, installed_of, logits, perturb

VARIANTS = {
    "terms2": ("krona", {"terms": 2}),
    "per_term_shapes": ("krona", {"terms": 2, "a_shape": [[6, 8], [4, 12]], "b_shape": [[8, 6], [12, 4]]}),
    "inner_rank": ("krona", {"terms": 2, "inner_rank": 2}),
    "decompose_both": ("krona", {"inner_rank": 3, "decompose": "both", "init": "b_kaiming"}),
    "learn_scale": ("krona", {"terms": 2, "learn_scale": True}),
    "weight_decompose": ("krona", {"weight_decompose": True, "inner_rank": 2}),
    "svd_a": ("krona", {"init": "svd_a", "terms": 2}),
    "svd": ("krona", {"init": "svd", "terms": 2, "scale": 0.5}),
    "scalar_from_zero": ("krona", {"init": "both_kaiming", "learn_scale": True, "scale": 0.0, "terms": 2}),
    "both_kaiming": ("krona", {"init": "both_kaiming", "inner_rank": 2}),
    "lokr": ("lokr", {}),
    "lokr_dora_scalar": ("lokr", {"weight_decompose": True, "learn_scale": True, "decompose": "both"}),
}


@pytest.mark.parametrize("family", ["bert", "t5"])
@pytest.mark.parametrize("variant", VARIANTS)
def test_merge_matches_and_unmerge_restores_bit_for_bit(adapted, family, variant):
    method, settings = VARIANTS[variant]
    _, model, _ = adapted(family, method, **settings)
    perturb(model)
    batch = batch_for(family)
    unmerged = logits(model, batch)
    before = {name: t.clone() for name, t in model.state_dict().items()}

    merge_all(model)
    assert all(a.merged for a in adapters_of(model))
    assert [n for n, t in model.state_dict().items() if not torch.equal(t, before[n])], (
        "merging changes weights"
    )
    merged = logits(model, batch)
    torch.testing.assert_close(merged, unmerged, rtol=1e-5, atol=1e-5 * unmerged.abs().max().item())

    unmerge_all(model)
    assert all(torch.equal(t, before[n]) for n, t in model.state_dict().items())
    assert torch.equal(logits(model, batch), unmerged)


@pytest.mark.parametrize("variant", VARIANTS)
def test_starts_as_the_base_model_exactly_when_the_config_says_so(adapted, variant):
    method, settings = VARIANTS[variant]
    bare, model, _ = adapted("bert", method, **settings)
    batch = batch_for("bert")
    starts_as_base = installed_of(model).config.starts_as_base_model
    assert starts_as_base is (variant not in ("svd", "both_kaiming"))
    assert torch.equal(logits(model, batch), logits(bare, batch)) is starts_as_base


def test_svd_init_is_the_nearest_kronecker_sum_of_the_frozen_weight():
    generator = torch.Generator().manual_seed(0)
    a_shape, b_shape = (3, 5), (4, 2)
    parts = [
        torch.randn(*shape, generator=generator, dtype=torch.float64) for shape in (a_shape, b_shape) * 3
    ]
    two_terms = torch.kron(parts[0], parts[1]) + torch.kron(parts[2], parts[3])
    exact = KronA(a_shape, b_shape, scale=-2.0, init="svd", terms=2, base_weight=two_terms)
    # the factors are float32 parameters (computed in float64): float32 tolerances
    torch.testing.assert_close(exact.delta_weight().double(), two_terms, rtol=1e-5, atol=1e-5)

    weight = two_terms + 0.3 * torch.kron(parts[4], parts[5])
    nearest = KronA(a_shape, b_shape, scale=0.5, init="svd", terms=1, base_weight=weight)
    nearest.double()
    error = torch.linalg.matrix_norm(weight - nearest.delta_weight())
    singular = torch.linalg.svdvals(rearranged(weight, a_shape, b_shape))
    torch.testing.assert_close(
        error, singular[1:].square().sum().sqrt(), rtol=1e-5, atol=1e-5
    )  # Eckart-Young on R(W)
    for _ in range(20):  # no nearby Kronecker product does better
        A = nearest.factor("A", 0) + 0.01 * torch.randn(a_shape, generator=generator, dtype=torch.float64)
        B = nearest.factor("B", 0) + 0.01 * torch.randn(b_shape, generator=generator, dtype=torch.float64)
        assert torch.linalg.matrix_norm(weight - 0.5 * torch.kron(A, B)) > error

    mixed = KronA([a_shape, (2, 5)], [b_shape, (6, 2)], init="svd", base_weight=weight).double()
    first = 1.0 * torch.kron(mixed.factor("A", 0), mixed.factor("B", 0))
    torch.testing.assert_close(first, nearest.delta_weight(), rtol=1e-5, atol=1e-5)  # the same first term
    second = torch.kron(
        mixed.factor("A", 1), mixed.factor("B", 1)
    )  # the residual's nearest (2,5)x(6,2) product
    torch.testing.assert_close(second, nearest_product(weight - first, (2, 5), (6, 2)), rtol=1e-5, atol=1e-5)

    svd_a = KronA(a_shape, b_shape, init="svd_a", terms=2, base_weight=weight)
    assert torch.count_nonzero(svd_a.delta_weight()) == 0
    torch.testing.assert_close(
        svd_a.factor("A", 1).abs().double(),
        nearest_factors(weight, a_shape, b_shape, 1).abs(),
        rtol=1e-5,
        atol=1e-5,
    )


def nearest_product(weight, a_shape, b_shape) -> torch.Tensor:
    U, S, Vh = torch.linalg.svd(rearranged(weight, a_shape, b_shape))
    return torch.kron((S[0] * U[:, 0]).reshape(a_shape), Vh[0].reshape(b_shape))


def nearest_factors(weight, a_shape, b_shape, term: int) -> torch.Tensor:
    U, S, _ = torch.linalg.svd(rearranged(weight, a_shape, b_shape))
    return (S[term].sqrt() * U[:, term]).reshape(a_shape)


SETTINGS_GRID = [
    dict(zip(("terms", "inner_rank", "decompose", "learn_scale", "weight_decompose"), values, strict=True))
    for values in itertools.product((1, 3), (None, 2), ("b", "both"), (False, True), (False, True))
    if not (values[1] is None and values[2] == "both")
]


@pytest.mark.parametrize("settings", SETTINGS_GRID, ids=str)
def test_count_formula_and_budget_choice_agree_with_the_modules(settings):
    """The formula against the parameters a KronA of each valid shape really holds, on a 12 x 30 layer."""
    d_out, d_in = 12, 30
    cfg = KronAConfig(name="krona", **settings)
    held = {}
    for a_shape, b_shape in valid_factor_shapes(d_out, d_in):
        module = KronA(a_shape, b_shape, base_weight=torch.zeros(d_out, d_in), **settings)
        held[(a_shape, b_shape)] = sum(p.numel() for p in module.parameters())
        assert cfg.parameters_per_layer(a_shape, b_shape, d_out) == held[(a_shape, b_shape)]
    for budget in (40, 150, 400):
        auto = KronAConfig(name="krona", budget=budget, **settings)
        chosen = tuple(map(tuple, auto.shapes_for(d_out, d_in, "layer")))
        assert abs(held[chosen] - budget) == min(abs(count - budget) for count in held.values())
    fewest = tuple(map(tuple, cfg.shapes_for(d_out, d_in, "layer")))
    assert held[fewest] == min(held.values())


def counts(make_config, *overrides: str) -> dict:
    cfg = make_config("backbone=bert_base", "backbone.init=random", "task=rte", *overrides)
    with torch.device("meta"):
        backbone = built_model(cfg)
    return count_parameters(backbone.model, backbone.placement())


@pytest.mark.parametrize(
    ("overrides", "per_layer"),
    [
        (("adapter.terms=2",), 2 * (32 * 24 + 24 * 32)),  # the command: two (32,24)/(24,32) terms
        (("adapter.terms=4", "adapter.a_shape=[32,24]", "adapter.b_shape=[24,32]"), 4 * 1536),
        (
            ("adapter.inner_rank=4", "adapter.a_shape=[32,24]", "adapter.b_shape=[24,32]"),
            32 * 24 + 4 * (24 + 32),
        ),
        (("adapter.learn_scale=true", "adapter.weight_decompose=true"), 1536 + 1 + 768),
    ],
)
def test_counts_on_bert_base(make_config, overrides, per_layer):
    found = counts(make_config, "adapter=krona", *overrides)
    assert found["adapter"] == 24 * per_layer  # 12 layers x query, value


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"terms": 0}, "terms"),
        ({"inner_rank": 0}, "inner_rank"),
        ({"decompose": "both"}, "needs adapter.inner_rank"),
        ({"decompose": "a"}, "decompose"),
        ({"init": "normal"}, "svd_a"),
        ({"init": "svd", "scale": 0.0}, "never trains"),
        ({"init": "both_kaiming", "scale": 0.0}, "learn_scale=true"),
        ({"learn_scale": True, "scale": 0.0}, "init=both_kaiming"),
        ({"a_shape": [[32, 24]], "b_shape": [[24, 32]], "terms": 2}, "one per term"),
        ({"a_shape": [[32, 24], [24, 32]], "b_shape": [24, 32], "terms": 2}, "both as one pair"),
        ({"a_shape": "lokr", "b_shape": "auto"}, "set both"),
        ({"a_shape": "square", "b_shape": "square"}, "use auto, lokr"),
        ({"decompose_factor": 0}, "decompose_factor"),
    ],
)
def test_bad_settings_say_what_to_do(settings, message):
    with pytest.raises(AdapterError, match=message):
        build_config({"name": "krona", **settings})


def test_per_term_shapes_must_fit_the_layer(adapted):
    with pytest.raises(AdapterError, match="Valid shapes"):
        adapted("bert", "krona", terms=2, a_shape=[[6, 8], [4, 12]], b_shape=[[8, 6], [12, 5]])


def test_svd_asks_for_no_more_terms_than_the_shapes_hold(adapted):
    with pytest.raises(AdapterError, match="at most 1 Kronecker terms"):
        adapted("bert", "krona", init="svd", terms=2, a_shape=[1, 1], b_shape=[48, 48])


@pytest.mark.parametrize("variant", VARIANTS)
def test_the_first_step_moves_the_update(adapted, variant):
    """Every accepted setting gives some adapter parameter a non-zero gradient at step 0."""
    method, settings = VARIANTS[variant]
    _, model, _ = adapted("bert", method, **settings)
    model(**batch_for("bert")).logits.square().sum().backward()
    grads = [p.grad for a in adapters_of(model) for p in a.parameters()]
    assert any(g is not None and g.abs().sum() > 0 for g in grads)


def test_why_a_zero_scale_needs_both_factors_random():
    """The refused setting, built by hand: s = 0 with a zero factor gives no parameter any gradient."""
    stuck = KronA((3, 4), (4, 3), scale=0.0, init="a_kaiming", learn_scale=True)
    x = torch.randn(5, 12)
    stuck.update(x).sum().backward()
    assert all(p.grad.abs().sum() == 0 for p in stuck.parameters())


@pytest.mark.parametrize("variant", ["per_term_shapes", "decompose_both", "learn_scale", "weight_decompose"])
def test_adapter_checkpoint_round_trip_records_the_resolved_shapes(adapted, tmp_path, variant):
    method, settings = VARIANTS[variant]
    _, model, _ = adapted("bert", method, **settings)
    perturb(model)
    batch = batch_for("bert")
    save_adapter(model, tmp_path, method=installed_of(model).config)
    config = json.loads((tmp_path / "adapter_config.json").read_text())
    krona = adapters_of(model)[0]
    assert config["a_shape"] == krona.resolved_settings()["a_shape"] != "auto"
    assert build_config({k: v for k, v in config.items() if k in KronAConfig.__dataclass_fields__})
    _, fresh, _ = adapted("bert", method, seed=1, **settings)
    load_adapter(fresh, tmp_path)
    assert torch.equal(logits(fresh, batch), logits(model, batch))
