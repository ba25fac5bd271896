"""Every registered method through the same checks on every tiny backbone family, with its YAML defaults.
What a method trains and how it starts are read from its own declaration (``register(..., starts_as=)``,
``trains_everything`` / ``trains_biases`` on its config), never from a list kept here."""

from __future__ import annotations

import dataclasses

import pytest
import torch
from safetensors.torch import load_file

from src.adapters import (
    METHODS,
    AdapterError,
    adapters_of,
    build_config,
    count_parameters,
    disabled,
    get_method,
    load_adapter,
    merge_all,
    save_adapter,
    search_space,
    unmerge_all,
)
from src.config import CONF_DIR

from .conftest import FAMILIES, batch_for, logits, method_settings, perturb

CASES = [(family, method) for family in FAMILIES for method in sorted(METHODS)]


def declared(method: str):
    """The method's config with its YAML defaults: where it declares what else it trains."""
    return build_config(method_settings(method))


def new_parameter_names(model, bare) -> set[str]:
    """Parameters the method added: names the bare model lacks (peft moves the host weight under base_layer)."""
    bare_names = {name for name, _ in bare.named_parameters()}
    return {name for name, _ in model.named_parameters() if name.replace(".base_layer", "") not in bare_names}


def expected_trainable(method: str, model, bare, placement) -> set[str]:
    names = {name for name, _ in model.named_parameters()}
    if declared(method).trains_everything:
        return names
    expected = new_parameter_names(model, bare)
    expected |= (
        {n for n in names if n.startswith(placement.head_prefixes)} if placement.head_prefixes else set()
    )
    if declared(method).trains_biases:
        expected |= {n for n in names if n.endswith(".bias")}
    return expected


def test_every_method_has_a_yaml_and_every_yaml_a_method():
    yamls = {path.stem for path in (CONF_DIR / "adapter").glob("*.yaml")}
    assert yamls == set(METHODS)


@pytest.mark.parametrize("method", sorted(METHODS))
def test_search_space_is_its_own_settings_in_hydras_sweep_grammar(method):
    """What a search tunes besides the lr (``register(..., search=)``): keys the method's config has, each a sweep
    Hydra parses, every choice a value the config accepts."""
    from hydra.core.override_parser.overrides_parser import OverridesParser

    fields = {f.name for f in dataclasses.fields(get_method(method).config)}
    for key, expression in search_space(method).items():
        assert key.startswith("adapter.") and key.removeprefix("adapter.") in fields, key
        override = OverridesParser.create().parse_override(f"{key}={expression}")
        assert override.is_sweep_override(), f"{key}={expression} is not a sweep"
        if override.is_choice_sweep():
            for value in override.sweep_iterator():
                build_config(method_settings(method, **{key.removeprefix("adapter."): value}))


@pytest.mark.parametrize(("family", "method"), CASES)
def test_applies_trains_the_right_set_and_disables(adapted, family, method):
    bare, model, placement = adapted(family, method)
    batch = batch_for(family)
    out = logits(model, batch)
    assert out.shape == logits(bare, batch).shape and torch.isfinite(out).all()

    trainable = {name for name, p in model.named_parameters() if p.requires_grad}
    assert trainable == expected_trainable(method, model, bare, placement)
    added = new_parameter_names(model, bare)
    params = dict(model.named_parameters())
    assert count_parameters(model, placement)["adapter"] == sum(
        params[n].numel() for n in added if params[n].requires_grad
    )

    perturb(
        model, adapters_only=True
    )  # disabled() switches adapters off; BitFit/full edit the backbone itself
    with disabled(model):
        assert torch.equal(logits(model, batch), logits(bare, batch))
    if adapters_of(model):
        assert not torch.equal(logits(model, batch), logits(bare, batch)), (
            "perturbed adapters must change the output"
        )


@pytest.mark.parametrize(("family", "method"), CASES)
def test_starts_as_declared(adapted, family, method):
    bare, model, _ = adapted(family, method)
    batch = batch_for(family)
    base, out = logits(bare, batch), logits(model, batch)
    starts_as = declared(method).starts_as
    if starts_as == "base":
        assert torch.equal(out, base)
    elif starts_as == "near_base":
        # 2%: adapter-hub's Pfeiffer wiring on a pre-norm layer (T5) reads the un-normalised residual stream x + D(h),
        # so at its N(0, 0.02) init it moves tiny T5's logits by 1.1% of their largest; every other case is under 1%
        assert 0 < (out - base).abs().max() <= 0.02 * base.abs().max()
    else:
        assert not torch.equal(out, base), (
            f"{method} declares it changes the output at step 0, but it does not"
        )


@pytest.mark.parametrize(("family", "method"), CASES)
def test_save_load_round_trip(adapted, tmp_path, family, method):
    if method == "full":
        pytest.skip("full fine-tuning saves the whole model: not an adapter checkpoint")
    _, model, _ = adapted(family, method)
    perturb(model)
    batch = batch_for(family)
    expected = logits(model, batch)
    save_adapter(model, tmp_path)

    stored = load_file(str(tmp_path / "adapter.safetensors"))
    trainable = {name for name, p in model.named_parameters() if p.requires_grad}
    assert set(stored) == trainable
    assert (tmp_path / "adapter_config.json").exists()

    _, fresh, _ = adapted(family, method, seed=1)
    if trainable:
        assert not torch.equal(logits(fresh, batch), expected)
    load_adapter(fresh, tmp_path)
    assert torch.equal(logits(fresh, batch), expected)


@pytest.mark.parametrize(("family", "method"), CASES)
def test_merge_matches_and_unmerge_restores_bit_for_bit(adapted, family, method):
    _, model, _ = adapted(family, method)
    if not any(a.mergeable for a in adapters_of(model)):
        assert all(not a.mergeable for a in adapters_of(model))
        pytest.skip(f"{method} is not mergeable")
    perturb(model)
    batch = batch_for(family)
    unmerged = logits(model, batch)
    before = {name: t.clone() for name, t in model.state_dict().items()}

    merge_all(model)
    assert all(a.merged for a in adapters_of(model) if a.mergeable)
    merged = logits(model, batch)
    torch.testing.assert_close(merged, unmerged, rtol=1e-5, atol=1e-5 * unmerged.abs().max().item())
    changed = [n for n, t in model.state_dict().items() if not torch.equal(t, before[n])]
    assert changed, "merging must change backbone weights"

    unmerge_all(model)
    assert all(torch.equal(t, before[n]) for n, t in model.state_dict().items())
    assert torch.equal(logits(model, batch), unmerged)


@pytest.mark.parametrize("method", ["krona", "lora", "peft"])
def test_merge_refuses_non_finite_updates_and_names_the_layer(adapted, method):
    _, model, _ = adapted("bert", method)
    perturb(model)
    before = {name: t.clone() for name, t in model.state_dict().items()}
    victim = next(
        p for p in model.parameters() if p.requires_grad and p.dim() == 2 and "classifier" not in str(p.shape)
    )
    with torch.no_grad():
        victim.view(-1)[0] = float("nan")
    with pytest.raises(AdapterError, match=r"encoder\.layer\.\d+\.attention\.self\.\w+"):
        merge_all(model)
    assert not any(a.merged for a in adapters_of(model))
    assert all(torch.equal(t, before[n]) or torch.isnan(t).any() for n, t in model.state_dict().items())
