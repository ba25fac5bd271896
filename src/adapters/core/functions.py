"""Functions over a whole model: apply, freeze, merge, disable, count (save and load: ``saving.py``)."""

from __future__ import annotations

import contextlib
from collections import Counter
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from torch import nn

from .placement import Placement
from .protocol import Adapter, AdapterError
from .quantized import has_quantized_layers, parameter_count
from .registry import MethodConfig, build_config, get_method


@dataclass(frozen=True)
class Installed:
    """What ``apply`` installed: the method's resolved config, its adapter modules and where they went. The
    caller keeps it (the backbone does) and hands it on; nothing is attached to the Hugging Face model."""

    config: MethodConfig
    adapters: list[Adapter]
    placement: Placement


def apply(model: nn.Module, settings: Mapping[str, Any] | MethodConfig, placement: Placement) -> Installed:
    """Install the configured method into ``model`` and set which parameters train."""
    cfg = settings if isinstance(settings, MethodConfig) else build_config(settings)
    if cfg.name in placement.refusals:
        raise AdapterError(f"{placement.refusals[cfg.name]}.")
    refusal = cfg.quantized_base_refusal() if has_quantized_layers(model) else None
    if refusal:
        raise AdapterError(f"{refusal}.")
    adapters = get_method(cfg.name).apply(model, cfg, placement)
    mark_trainable(model, cfg, placement)
    return Installed(cfg, adapters, placement)


def adapters_of(model: nn.Module) -> list[Adapter]:
    return [m for m in model.modules() if isinstance(m, Adapter)]


def _is_head(name: str, placement: Placement) -> bool:
    return any(name.startswith(prefix) for prefix in placement.head_prefixes)


def norm_parameter_names(model: nn.Module, placement: Placement) -> set[str]:
    return {
        f"{module_name}.{param_name}" if module_name else param_name
        for module_name, module in model.named_modules()
        if isinstance(module, placement.norm_types) and not isinstance(module, Adapter)
        for param_name, _ in module.named_parameters(recurse=False)
    }


def adapter_parameter_names(model: nn.Module) -> set[str]:
    """Names of the parameters the adapters own (a parameter shared by several adapters counts once)."""
    owned = {id(p) for adapter in adapters_of(model) for p in adapter.owned_parameters()}
    return {name for name, param in model.named_parameters() if id(param) in owned}


def mark_trainable(model: nn.Module, cfg: MethodConfig, placement: Placement) -> None:
    """Freeze the backbone; train adapters, the head, and (if asked) layer norms and biases."""
    adapter_names = adapter_parameter_names(model)
    norm_names = norm_parameter_names(model, placement) if cfg.train_layernorm else set()
    for name, param in model.named_parameters():
        param.requires_grad = (
            cfg.trains_everything
            or name in adapter_names
            or name in norm_names
            or (cfg.train_head and _is_head(name, placement))
            or (cfg.trains_biases and name.endswith(".bias"))
        )


def merge_all(model: nn.Module) -> list[Adapter]:
    """Merge every mergeable adapter; returns the ones that cannot merge. Atomic: all or none."""
    merge_atomically([a for a in adapters_of(model) if a.mergeable])
    return [a for a in adapters_of(model) if not a.mergeable]


def merge_atomically(adapters: list[Adapter]) -> None:
    """Merge ``adapters``; if one refuses, unmerge the ones merged here and re-raise."""
    done: list[Adapter] = []
    try:
        for adapter in adapters:
            adapter.merge()
            done.append(adapter)
    except AdapterError:
        for adapter in reversed(done):
            adapter.unmerge()
        raise


def unmerge_all(model: nn.Module) -> None:
    for adapter in adapters_of(model):
        adapter.unmerge()


@contextlib.contextmanager
def disabled(model: nn.Module) -> Iterator[nn.Module]:
    """Run the bare backbone: adapters off (merged ones are unmerged for the duration)."""
    adapters = adapters_of(model)
    was_merged = [a for a in adapters if a.merged]
    for adapter in was_merged:
        adapter.unmerge()
    previous = [a.enabled for a in adapters]
    for adapter in adapters:
        adapter.enabled = False
    try:
        yield model
    finally:
        for adapter, enabled in zip(adapters, previous, strict=True):
            adapter.enabled = enabled
        for adapter in was_merged:
            adapter.merge()


def count_parameters(model: nn.Module, placement: Placement) -> dict[str, Any]:
    """Total, trainable, adapter, head and norm counts; percentages of the backbone without head."""
    adapter_names = adapter_parameter_names(model)
    norm_names = norm_parameter_names(model, placement)
    params = dict(model.named_parameters())
    total = sum(parameter_count(p) for p in params.values())  # a 4-bit weight: the weights, not its bytes
    adapter = sum(params[n].numel() for n in adapter_names)
    head = sum(p.numel() for n, p in params.items() if _is_head(n, placement))
    trainable = sum(p.numel() for p in params.values() if p.requires_grad)
    trainable_without_head = sum(
        p.numel() for n, p in params.items() if p.requires_grad and not _is_head(n, placement)
    )
    backbone = total - adapter - head
    by_method: Counter[str] = Counter()
    by_type: Counter[str] = Counter()
    counted: set[int] = set()
    for module in adapters_of(model):
        own = [p for p in module.owned_parameters() if id(p) not in counted]
        counted.update(id(p) for p in own)
        n = sum(p.numel() for p in own)
        by_method[module.method] += n
        by_type[type(module).__name__] += n
    return {
        "total": total,
        "trainable": trainable,
        "adapter": adapter,
        "head": head,
        "layernorm": sum(params[n].numel() for n in norm_names),
        "layernorm_trainable": sum(params[n].numel() for n in norm_names if params[n].requires_grad),
        "backbone": backbone,
        "trainable_pct": 100.0 * trainable / total,
        "trainable_without_head": trainable_without_head,
        "trainable_pct_of_backbone": 100.0 * trainable_without_head / backbone,
        "adapter_pct_of_backbone": 100.0 * adapter / backbone,
        "by_method": dict(by_method),
        "by_module_type": dict(by_type),
    }
