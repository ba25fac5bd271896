"""Every registered method on a 4-/8-bit tiny BERT and tiny Llama (``backbone.quantize``): it trains one step with
gradients reaching only what it trains, the quantized weights never move, and its outputs equal the same method's
on the dequantized float twin (the weights the quantized layers compute with). A method that cannot work on such
a base is refused in one line, by what its config declares."""

from __future__ import annotations

import copy

import pytest
import torch

from src.adapters import METHODS, AdapterError, adapters_of, apply, build_config, count_parameters
from src.adapters.core.quantized import is_quantized

from .conftest import batch_for, is_documented_refusal, logits, method_settings, perturb
from .quantized_helpers import (
    MODES,
    QUANTIZED_FAMILIES,
    adapted_pair,
    copy_trainable,
    quantized_backbone,
)

# Of the largest |logit|. 4-bit: bitsandbytes computes with exactly the dequantized weight, so float rounding is
# all that differs. LLM.int8 also rounds each activation row to 8 bits (absmax / 127) in every layer (measured:
# up to 0.6% on tiny BERT and Llama).
TOLERANCE = {"nf4": 1e-5, "fp4": 1e-5, "int8": 2e-2}
QUANTIZED_CASES = [(f, mode, m) for f in QUANTIZED_FAMILIES for mode in MODES for m in sorted(METHODS)]


def refusal_of(method: str) -> str | None:
    return build_config(method_settings(method)).quantized_base_refusal()


def pair_or_refusal(family: str, mode: str, method: str):
    """The adapted pair, or (for a method its config refuses on a quantized base) the check that ``apply``
    refuses it in one line, then a skip."""
    reason = refusal_of(method)
    if reason:
        backbone = quantized_backbone(family, mode)
        with pytest.raises(AdapterError) as refused:
            apply(copy.deepcopy(backbone.model), method_settings(method), backbone.placement())
        assert "\n" not in str(refused.value) and "backbone.quantize=none" in str(refused.value)
        pytest.skip(f"refused in one line: {reason}")
    try:
        return adapted_pair(family, mode, method)
    except AdapterError as error:
        if not is_documented_refusal(error, quantized_backbone(family, mode).placement()):
            raise
        pytest.skip(f"refused in one line: {error}")


def labelled(family: str) -> dict[str, torch.Tensor]:
    return {**batch_for(family), "labels": torch.tensor([0, 1])}


@pytest.mark.parametrize(("family", "mode", "method"), QUANTIZED_CASES)
def test_trains_one_step_with_gradients_only_where_it_trains(family, mode, method):
    model, _, placement = pair_or_refusal(family, mode, method)
    quantized = {n: m for n, m in model.named_modules() if is_quantized(m)}
    assert quantized, "the backbone's linear layers must be 4-/8-bit"
    assert not any(n.startswith(placement.head_prefixes) for n in quantized), "the head stays in float"
    frozen = {n: t.clone() for n, t in model.state_dict().items()}
    trainable = {n for n, p in model.named_parameters() if p.requires_grad}
    owned = {id(p) for a in adapters_of(model) for p in a.owned_parameters()}
    config = build_config(method_settings(method))
    expected = {
        n
        for n, p in model.named_parameters()
        if id(p) in owned
        or n.startswith(placement.head_prefixes)
        or (config.trains_biases and n.endswith(".bias"))
    }
    assert trainable == expected

    model.train()
    optimiser = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=1e-2)
    model(**labelled(family)).loss.backward()
    grads = {n: p.grad for n, p in model.named_parameters() if p.grad is not None}
    assert set(grads) <= trainable
    own = {n for n in trainable if not n.startswith(placement.head_prefixes)}
    assert any(grads[n].abs().sum() > 0 for n in own & set(grads)), (
        "the gradient must reach the method, not only the head"
    )
    optimiser.step()
    after = model.state_dict()
    moved = {n for n in frozen if not torch.equal(after[n], frozen[n])}
    assert moved and moved <= trainable, (
        f"only trained tensors may change, got {sorted(moved - trainable)[:3]}"
    )
    assert all(is_quantized(m) for m in quantized.values())


@pytest.mark.parametrize(("family", "mode", "method"), QUANTIZED_CASES)
def test_outputs_equal_the_dequantized_weight_reference(family, mode, method):
    model, reference, _ = pair_or_refusal(family, mode, method)
    perturb(model, adapters_only=True)
    copy_trainable(model, reference)
    assert not any(is_quantized(m) for m in reference.modules())
    batch = batch_for(family)
    quantized_out, float_out = logits(model.eval(), batch), logits(reference.eval(), batch)
    torch.testing.assert_close(
        quantized_out, float_out, rtol=0, atol=TOLERANCE[mode] * float_out.abs().max().item()
    )


@pytest.mark.parametrize("mode", MODES)
def test_parameter_counts_are_the_weights_not_their_bytes(mode):
    """A 4-bit weight stores two weights a byte; the counts (and every % of the backbone) are the float model's."""
    model, reference, placement = adapted_pair("llama", mode, "krona")
    assert count_parameters(model, placement) == count_parameters(reference, placement)
