"""Take adapters out of a model: ``unload`` gives back the backbone as it was, ``merge_and_unload`` the
backbone with the updates folded into its weights. Either leaves a plain Hugging Face model: no adapter
module, parameter, hook or forward override (removed by the handles the install kept, never by guessing)."""

from __future__ import annotations

import torch
from torch import nn

from .functions import adapters_of, merge_atomically, unmerge_all
from .protocol import Adapter, AdapterError
from .quantized import dequantized_linear


def unload(model: nn.Module) -> nn.Module:
    """Remove every adapter (merged ones are unmerged first, bit for bit): ``model`` is the bare backbone again.

    Works for every method; in place, and returns ``model``."""
    unmerge_all(model)
    return _take_out(model)


def merge_and_unload(model: nn.Module, dequantize: torch.dtype | None = None) -> nn.Module:
    """Fold every adapter into the backbone weights and remove it; in place, and returns ``model``.

    A 4-/8-bit host layer cannot hold an update: it is refused, unless ``dequantize`` names a dtype, in which
    case that layer is replaced by a plain ``nn.Linear`` of that dtype holding its dequantized weight plus the
    update (the rest of the quantized backbone stays as it is).

    Refuses (nothing changed) when a method cannot merge or an update holds NaN/Inf."""
    adapters = adapters_of(model)
    not_mergeable = sorted({a.method for a in adapters if not a.mergeable})
    if not_mergeable:
        raise AdapterError(
            f"cannot merge {', '.join(not_mergeable)} into the backbone: its update is not a change of existing weights; "
            "keep the adapters, or use unload() to remove them without their update."
        )
    on_quantized = [a for a in adapters if not a.merges_in_place]
    if on_quantized and dequantize is None:
        on_quantized[0].refuse_quantized_host()
    replacements = _dequantized_merges(on_quantized, dequantize)
    merge_atomically([a for a in adapters if a.merges_in_place])
    _take_out(model)
    for name, linear in replacements.items():
        model.set_submodule(name, linear)
    return model


def _dequantized_merges(adapters: list[Adapter], dtype: torch.dtype | None) -> dict[str, nn.Module]:
    """For each adapter's quantized host, a float copy of it with the update added (checked finite first)."""
    replacements: dict[str, nn.Module] = {}
    with torch.no_grad():
        for adapter in adapters:
            delta, bias_delta = adapter.delta_weight(), adapter.delta_bias()
            if not all(torch.isfinite(d).all() for d in (delta, bias_delta) if d is not None):
                raise AdapterError(
                    f"refusing to merge {adapter.method} into {adapter._host_name}: its update holds NaN or Inf; "
                    "the weights are left unmerged."
                )
            replacements[adapter._host_name] = dequantized_linear(
                adapter.weight_layer(), dtype, delta, bias_delta
            )
    return replacements


def _take_out(model: nn.Module) -> nn.Module:
    adapters = adapters_of(model)
    tuners = {id(t): t for t in (getattr(a, "tuner", None) for a in adapters) if t is not None}
    for tuner in tuners.values():  # peft's own unload: its layers back to their (possibly merged) base layers
        tuner.unload()
    for adapter in adapters:
        adapter.remove_from_model()
    _check_nothing_left(model)
    return model


def _check_nothing_left(model: nn.Module) -> None:
    """An install that kept no handle would leave part of an adapter behind: say where, instead of saving it."""
    left = [name for name, m in model.named_modules() if isinstance(m, Adapter)]
    for name, module in model.named_modules():
        hooks = [
            *module._forward_hooks.values(),
            *module._forward_pre_hooks.values(),
            module.__dict__.get("forward"),
        ]
        if any(isinstance(getattr(h, "__self__", None), Adapter) for h in hooks):
            left.append(f"{name or '<root>'} (hook or forward)")
    if left:
        raise AdapterError(
            f"unloading left adapter parts in {left[:3]}: their install did not keep a handle "
            "(use placement.add_child / keep_removal when installing)."
        )
