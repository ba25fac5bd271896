"""Adapters: pure PyTorch, no Lightning or Hydra. Every module in this package that calls
``register`` becomes a method, so a new adapter is one file here plus one YAML in conf/adapter/."""

import importlib
import pkgutil

from .base import Adapter, AdapterError
from .functions import (
    Installed,
    adapter_state_dict,
    adapters_of,
    apply,
    count_parameters,
    disabled,
    load_adapter,
    mark_trainable,
    merge_all,
    save_adapter,
    unmerge_all,
)
from .peft_export import export_peft
from .placement import Placement, Site
from .registry import METHODS, MethodConfig, build_config, get_method, register
from .unload import merge_and_unload, unload

_CORE = {"base", "functions", "placement", "registry", "kron", "kron_linear", "unload", "peft_export"}
for _info in pkgutil.iter_modules(__path__):
    if _info.name not in _CORE and not _info.name.startswith("_"):
        importlib.import_module(f"{__name__}.{_info.name}")

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
    "export_peft",
    "disabled",
    "get_method",
    "load_adapter",
    "mark_trainable",
    "merge_all",
    "merge_and_unload",
    "register",
    "save_adapter",
    "unload",
    "unmerge_all",
]
