"""Any Hugging Face PEFT method as a baseline: ``adapter=peft adapter.peft_type=LOKR adapter.peft_config={r: 4}``.

peft's tuner for the type replaces the targeted layers with its own (what ``inject_adapter_in_model`` does);
each gets a thin ``PeftLayer`` child that reports peft's parameters as adapter parameters and routes merge,
unmerge and disabling to peft's layer, so counting, merging, ``disabled()`` and adapter-only checkpoints work
as for our methods. The tuner is kept on the wrappers, so ``unload`` uses peft's own ``unload()``.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from ..core.placement import Placement, add_child
from ..core.protocol import Adapter, AdapterError, attach_host
from ..core.registry import MethodConfig, register


def layer_tuner_types() -> list[str]:
    """The peft types whose tuner adapts the model's own layers and keeps its state in them (what
    ``inject_adapter_in_model`` accepts): prompt methods and tuners with shared state are not."""
    peft = _peft()
    mapping = peft.mapping
    return [
        name.value
        for name, tuner in mapping.PEFT_TYPE_TO_TUNER_MAPPING.items()
        if name in mapping.PEFT_TYPE_TO_CONFIG_MAPPING
        and getattr(tuner, "uses_shared_state", None) is False
        and not issubclass(mapping.PEFT_TYPE_TO_CONFIG_MAPPING[name], peft.PromptLearningConfig)
        and name.value != "SHADOW"
    ]


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
        self.refuse_quantized_host()  # peft would requantize W + dW: the update would be rounded away
        weight = self._host.get_base_layer().weight
        self._unmerged_weight = weight.detach().clone()
        try:
            self._host.merge(safe_merge=True)
        except (
            ValueError,
            NotImplementedError,
        ) as error:  # NaN/Inf (safe_merge), or a type peft cannot merge
            self.__dict__.pop("_unmerged_weight")
            raise AdapterError(f"refusing to merge peft into {self._host_name}: {error}") from error
        self.merged = True

    def weight_layer(self) -> nn.Module:
        return self._host.get_base_layer()

    def delta_weight(self) -> torch.Tensor:
        """peft's own update for its active adapter (what a dequantized merge adds)."""
        return self._host.get_delta_weight(self._host.active_adapters[0])

    @torch.no_grad()
    def unmerge(self) -> None:
        if not self.merged:
            return
        self._host.unmerge()
        self._host.get_base_layer().weight.copy_(self.__dict__.pop("_unmerged_weight"))
        self.merged = False


_PEFT_BOOKKEEPING = {
    "peft_type",
    "task_type",
    "base_model_name_or_path",
    "revision",
    "inference_mode",
    "auto_mapping",
    "peft_version",
}


@dataclass
class PeftConfig(MethodConfig):
    peft_type: str = "LOKR"
    peft_config: dict[str, Any] | None = None
    targets: list[str] | str | None = None

    def validate(self) -> None:
        peft = _peft()
        usable = layer_tuner_types()
        if self.peft_type.upper() not in usable:
            raise AdapterError(
                f"adapter.peft_type={self.peft_type!r} is not a peft type that adapts a model's own layers. "
                f"Usable: {', '.join(sorted(usable))} (prompt methods: adapter=prefix)."
            )
        config_class = peft.mapping.PEFT_TYPE_TO_CONFIG_MAPPING[self.peft_type.upper()]
        accepted = {f.name for f in dataclasses.fields(config_class) if f.init}
        unknown = sorted(set(self.peft_config or {}) - accepted)
        if unknown:
            raise AdapterError(
                f"adapter.peft_config has {unknown}, which {config_class.__name__} does not take "
                f"(adapter.peft_type={self.peft_type}). Its settings: {sorted(accepted - _PEFT_BOOKKEEPING)}."
            )

    def quantized_base_refusal(self) -> str | None:
        if has_bitsandbytes_layer(self.peft_type):
            return super().quantized_base_refusal()
        return (
            f"peft has no bitsandbytes layer for {self.peft_type.upper()} (peft/tuners/<type>/bnb.py), so it cannot "
            "adapt a 4-/8-bit layer: use adapter=krona or adapter=lokr (kronlab's bypass form), "
            "adapter.peft_type=LORA, or backbone.quantize=none"
        )


def has_bitsandbytes_layer(peft_type: str) -> bool:
    """Whether peft adapts bitsandbytes' 4-/8-bit layers for ``peft_type`` (LORA, IA3, ...; not LOKR, LOHA)."""
    import importlib.util

    return importlib.util.find_spec(f"peft.tuners.{peft_type.lower()}.bnb") is not None


@register("peft", PeftConfig, starts_as="base")
def apply(model: nn.Module, cfg: PeftConfig, placement: Placement) -> list[Adapter]:
    """Any Hugging Face PEFT method (peft_type, peft_config) on the family's default targets."""
    peft = _peft()
    from peft.tuners.tuners_utils import BaseTunerLayer

    peft_type = cfg.peft_type.upper()
    settings = dict(cfg.peft_config or {})
    if "target_modules" not in settings:
        targets = placement.default_targets if cfg.targets in (None, "default") else cfg.targets
        settings["target_modules"] = targets if isinstance(targets, str) else list(targets)
    try:
        peft_cfg = peft.mapping.PEFT_TYPE_TO_CONFIG_MAPPING[peft_type](**settings)
    except (TypeError, ValueError) as error:
        raise AdapterError(f"adapter.peft_config for {cfg.peft_type}: {error}") from error
    try:  # what inject_adapter_in_model does, keeping the tuner for its unload()
        tuner = peft.mapping.PEFT_TYPE_TO_TUNER_MAPPING[peft_type](model, peft_cfg, adapter_name="default")
    except ValueError as error:
        raise AdapterError(f"peft {cfg.peft_type}: {error}") from error
    except (
        TypeError
    ) as error:  # a layer type the peft method has no adapter for (GPT-2's Conv1D for LoKr/LoHa)
        raise AdapterError(
            f"peft {cfg.peft_type} cannot adapt targets {settings['target_modules']}: {error}. "
            "Choose a peft_type that supports them (transformers' Conv1D: LORA, IA3) or other adapter.targets."
        ) from error
    adapters = []
    for name, layer in list(model.named_modules()):
        if isinstance(layer, BaseTunerLayer):
            wrapper = PeftLayer(
                mergeable=hasattr(layer, "merge") and hasattr(layer.get_base_layer(), "weight")
            )
            attach_host(wrapper, layer, name)
            object.__setattr__(wrapper, "tuner", tuner)  # not a child: the tuner holds the whole model
            add_child(layer, wrapper)
            adapters.append(wrapper)
    if not adapters:
        raise AdapterError(
            f"peft {cfg.peft_type} matched no layer; set adapter.targets or adapter.peft_config.target_modules."
        )
    return adapters
