"""Any Hugging Face PEFT method as a baseline: ``adapter=peft adapter.peft_type=LOKR adapter.peft_config={r: 4}``.

peft's ``inject_adapter_in_model`` replaces the targeted layers with its own; each gets a thin ``PeftLayer``
child that reports peft's parameters as adapter parameters and routes merge, unmerge and disabling to
peft's layer, so counting, merging, ``disabled()`` and adapter-only checkpoints work as for our methods.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import torch
from torch import nn

from .base import Adapter, AdapterError, attach_host
from .placement import Placement
from .registry import MethodConfig, register


def _peft():
    try:
        import peft
    except ImportError as error:
        raise AdapterError("adapter=peft needs the peft package: pip install peft") from error
    return peft


class PeftLayer(Adapter):
    """Our protocol over one peft tuner layer (its host); owns no parameters of its own."""

    method = "peft"

    def __init__(self, mergeable: bool) -> None:
        super().__init__()
        self._mergeable = mergeable

    @property
    def mergeable(self) -> bool:  # type: ignore[override]
        return self._mergeable

    @property
    def enabled(self) -> bool:
        return self.__dict__.get("_enabled", True)

    @enabled.setter
    def enabled(self, value: bool) -> None:
        self.__dict__["_enabled"] = value
        host = getattr(self, "_host", None)
        if host is not None and host.disable_adapters == value:
            host.enable_adapters(value)

    def owned_parameters(self) -> list[nn.Parameter]:
        return [
            param
            for layer_name in self._host.adapter_layer_names
            for param in getattr(self._host, layer_name).parameters()
        ]

    @torch.no_grad()
    def merge(self) -> None:
        if not self.mergeable:
            raise AdapterError(f"peft layer {self._host_name} cannot merge into the backbone.")
        if self.merged:
            return
        weight = self._host.get_base_layer().weight
        self._unmerged_weight = weight.detach().clone()
        try:
            self._host.merge(safe_merge=True)
        except ValueError as error:
            self.__dict__.pop("_unmerged_weight")
            raise AdapterError(f"refusing to merge peft into {self._host_name}: {error}") from error
        self.merged = True

    @torch.no_grad()
    def unmerge(self) -> None:
        if not self.merged:
            return
        self._host.unmerge()
        self._host.get_base_layer().weight.copy_(self.__dict__.pop("_unmerged_weight"))
        self.merged = False


@dataclass
class PeftConfig(MethodConfig):
    peft_type: str = "LOKR"
    peft_config: dict[str, Any] = field(default_factory=dict)
    targets: list[str] | str | None = None

    def validate(self) -> None:
        mapping = _peft().mapping.PEFT_TYPE_TO_CONFIG_MAPPING
        if self.peft_type.upper() not in mapping:
            raise AdapterError(f"adapter.peft_type={self.peft_type!r} is not a peft type. Known: {', '.join(sorted(mapping))}.")


@register("peft", PeftConfig)
def apply(model: nn.Module, cfg: PeftConfig, placement: Placement) -> list[Adapter]:
    """Any Hugging Face PEFT method (peft_type, peft_config) on the family's default targets."""
    peft = _peft()
    from peft.tuners.tuners_utils import BaseTunerLayer

    settings = dict(cfg.peft_config)
    if "target_modules" not in settings:
        targets = placement.default_targets if cfg.targets in (None, "default") else cfg.targets
        settings["target_modules"] = targets if isinstance(targets, str) else list(targets)
    try:
        peft_cfg = peft.mapping.PEFT_TYPE_TO_CONFIG_MAPPING[cfg.peft_type.upper()](**settings)
    except TypeError as error:
        raise AdapterError(f"adapter.peft_config for {cfg.peft_type}: {error}") from error
    peft.inject_adapter_in_model(peft_cfg, model)
    adapters = []
    for name, layer in list(model.named_modules()):
        if isinstance(layer, BaseTunerLayer):
            wrapper = PeftLayer(mergeable=hasattr(layer, "merge") and hasattr(layer.get_base_layer(), "weight"))
            attach_host(wrapper, layer, name)
            layer.add_module(wrapper.method, wrapper)
            adapters.append(wrapper)
    if not adapters:
        raise AdapterError(f"peft {cfg.peft_type} matched no layer; set adapter.targets or adapter.peft_config.target_modules.")
    return adapters
