"""Export to a Hugging Face PEFT adapter folder that ``PeftModel.from_pretrained(base, folder)`` loads.

Each method that has a PEFT form says how its layers become one (``register(..., to_peft=)``: the PEFT type,
its settings, and how to fill one PEFT layer from one of its adapters, or a one-line refusal for settings
PEFT cannot hold); methods without one are refused here. What else trains (the classifier head, trained
norms) is saved through ``modules_to_save``. The folder is written by peft's own ``save_pretrained``.
"""

from __future__ import annotations

import copy
from pathlib import Path

import torch
from torch import nn

from src.atomic import atomic_directory

from .functions import adapters_of
from .protocol import Adapter, AdapterError
from .registry import METHODS, get_method
from .unload import unload

TASK_TYPES = {"ForSequenceClassification": "SEQ_CLS", "ForConditionalGeneration": "SEQ_2_SEQ_LM"}


def _peft():
    try:
        import peft
    except ImportError as error:
        raise AdapterError("export_peft needs the peft package: pip install peft") from error
    return peft


def _trained_modules(model: nn.Module, adapters: list[Adapter]) -> list[str]:
    """Modules outside the adapters with a trainable parameter (the head, trained norms): PEFT's modules_to_save."""
    owned = {id(p) for a in adapters for p in a.owned_parameters()}
    return sorted(
        {
            name.rpartition(".")[0]
            for name, param in model.named_parameters()
            if param.requires_grad and id(param) not in owned
        }
    )


def export_peft(model: nn.Module, directory: str | Path, base_model: str | None = None) -> Path:
    """Write ``model``'s adapter (and its trained head) as a PEFT adapter folder, for a method with a PEFT form.

    ``PeftModel.from_pretrained(<the base model>, directory)`` then gives the same logits as ``model``."""
    peft = _peft()
    adapters = adapters_of(model)
    methods = sorted({a.method for a in adapters})
    to_peft = get_method(methods[0]).to_peft if len(methods) == 1 and methods[0] in METHODS else None
    if to_peft is None:
        exportable = sorted(name for name, method in METHODS.items() if method.to_peft is not None)
        raise AdapterError(
            f"export_peft writes the methods with a PEFT form ({', '.join(exportable)}), one per model; "
            f"this model has {methods or 'no adapters'}: save it with save_adapter (kronlab's format) instead."
        )
    if any(a.merged for a in adapters):
        raise AdapterError(
            "unmerge the adapters (unmerge_all) before exporting them: merged updates live in the backbone."
        )
    layers = {a._host_name: a for a in adapters}
    hosts = {name: model.get_submodule(name) for name in layers}
    peft_type, settings, fill = to_peft(layers, hosts)
    trained = _trained_modules(model, adapters)
    clash = sorted(set(trained) & set(layers))
    if clash:
        raise AdapterError(
            f"{clash} train both an adapter and their own weights: PEFT cannot save both; export is refused."
        )
    config_class = peft.mapping.PEFT_TYPE_TO_CONFIG_MAPPING[peft_type]
    task_type = next((t for suffix, t in TASK_TYPES.items() if type(model).__name__.endswith(suffix)), None)
    name_or_path = base_model or getattr(getattr(model, "config", None), "name_or_path", None) or None
    config = config_class(
        **settings,
        target_modules=sorted(layers),
        modules_to_save=trained or None,
        task_type=task_type,
        base_model_name_or_path=name_or_path,
    )
    base = unload(copy.deepcopy(model))
    peft_model = peft.get_peft_model(base, config)
    with torch.no_grad():
        for name, adapter in layers.items():
            fill(peft_model.base_model.model.get_submodule(name), adapter)
    return atomic_directory(directory, lambda tmp: peft_model.save_pretrained(tmp))
