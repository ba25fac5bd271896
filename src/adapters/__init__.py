"""Adapters: pure PyTorch, no Lightning or Hydra, in three wings: ``core/`` (the protocol, registry, placement,
whole-model functions, save/load, unload, PEFT export; it names no method), ``kron/`` (the Kronecker product,
the fused layer, the factor shapes) and ``methods/`` (one file a method, discovered there). A new adapter is one
file in ``methods/`` plus one YAML in conf/adapter/."""

from . import methods  # noqa: F401  (registers every method)
from .core.functions import (
    Installed,
    adapters_of,
    apply,
    count_parameters,
    disabled,
    mark_trainable,
    merge_all,
    unmerge_all,
)
from .core.peft_export import export_peft
from .core.placement import Placement, Site
from .core.protocol import Adapter, AdapterError
from .core.registry import (
    METHODS,
    MethodConfig,
    build_config,
    get_method,
    register,
    register_variant,
    search_space,
)
from .core.saving import adapter_state_dict, load_adapter, save_adapter
from .core.unload import merge_and_unload, unload

__all__ = [
    "METHODS",
    "Adapter",
    "AdapterError",
    "Installed",
    "MethodConfig",
    "Placement",
    "Site",
    "adapter_state_dict",
    "adapters_of",
    "apply",
    "build_config",
    "count_parameters",
    "disabled",
    "export_peft",
    "get_method",
    "load_adapter",
    "mark_trainable",
    "merge_all",
    "merge_and_unload",
    "register",
    "register_variant",
    "save_adapter",
    "search_space",
    "unload",
    "unmerge_all",
]
