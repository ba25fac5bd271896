"""Adapter checkpoints: what trains, as ``adapter.safetensors``, and what rebuilding it needs, as
``adapter_config.json`` (the method's settings with ``auto`` resolved, the base model, every tensor's shape)."""

from __future__ import annotations

import dataclasses
import importlib.metadata
import json
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import load_file, save_file
from torch import nn

from src.atomic import atomic_write

from .functions import adapters_of
from .protocol import Adapter, AdapterError
from .registry import MethodConfig


def adapter_state_dict(model: nn.Module) -> dict[str, torch.Tensor]:
    """Everything that trains (adapters, head, trained norms/biases): never the frozen backbone."""
    trainable = {name for name, p in model.named_parameters() if p.requires_grad}
    return {name: t.detach().clone() for name, t in model.state_dict().items() if name in trainable}


def kronlab_version() -> str:
    try:
        return importlib.metadata.version("kronlab")
    except importlib.metadata.PackageNotFoundError:
        return "unknown"


def resolved_settings(model: nn.Module) -> dict[str, Any]:
    """The method's settings with each per-layer choice (``auto``) replaced by what the layers resolved,
    where all layers agree; ``layers`` holds every layer's own resolution."""
    per_layer = {}
    for name, module in model.named_modules():
        if isinstance(module, Adapter) and module.resolved_settings():
            per_layer[name] = module.resolved_settings()
    uniform = {}
    for key in {k for settings in per_layer.values() for k in settings}:
        values = [settings.get(key) for settings in per_layer.values()]
        if all(v == values[0] for v in values):
            uniform[key] = values[0]
    return {"settings": uniform, "layers": per_layer}


def adapter_config(
    model: nn.Module,
    task: str | None = None,
    base_model: str | None = None,
    method: MethodConfig | None = None,
) -> dict[str, Any]:
    """What ``adapter_config.json`` records: the method's settings (``method``, the config ``apply`` returned;
    ``auto`` resolved), the base model, the task, every stored tensor's shape and the kronlab version."""
    cfg = method
    settings = dataclasses.asdict(cfg) if cfg is not None else {}
    resolved = resolved_settings(model)
    settings.update(resolved["settings"])
    config = getattr(model, "config", None)
    return {
        **settings,
        "base_model": base_model or getattr(config, "name_or_path", None) or None,
        "base_model_type": getattr(config, "model_type", None),
        "task": task,
        "resolved_layers": resolved["layers"],
        "tensor_shapes": {name: list(t.shape) for name, t in adapter_state_dict(model).items()},
        "kronlab_version": kronlab_version(),
    }


def save_adapter(
    model: nn.Module,
    directory: str | Path,
    task: str | None = None,
    base_model: str | None = None,
    method: MethodConfig | None = None,
) -> Path:
    """Write ``adapter.safetensors`` and ``adapter_config.json`` (atomically) into ``directory``; ``method`` (the
    config ``apply`` returned in its ``Installed``) puts the method's settings into the config file."""
    directory = Path(directory)
    if any(a.merged for a in adapters_of(model)):
        raise AdapterError(
            "unmerge the adapters (unmerge_all) before saving them: merged weights live in the backbone."
        )
    state = {k: v.contiguous() for k, v in adapter_state_dict(model).items()}
    config = adapter_config(model, task, base_model, method)
    atomic_write(directory / "adapter.safetensors", lambda tmp: save_file(state, tmp))
    atomic_write(
        directory / "adapter_config.json",
        lambda tmp: Path(tmp).write_text(json.dumps(config, indent=2, default=list)),
    )
    return directory


def load_adapter(model: nn.Module, directory: str | Path) -> None:
    """Load what ``save_adapter`` wrote into a model that has the same adapters installed."""
    path = Path(directory) / "adapter.safetensors"
    if not path.exists():
        raise AdapterError(f"no adapter checkpoint at {path}: pass the folder that save_adapter wrote.")
    state = load_file(str(path))
    own = model.state_dict()
    missing = sorted(set(state) - set(own))
    if missing:
        raise AdapterError(
            f"{path} has {len(missing)} tensors this model lacks (first: {missing[:3]}); "
            "install the same adapter configuration before loading."
        )
    wrong = [name for name, tensor in state.items() if tensor.shape != own[name].shape]
    if wrong:
        name = wrong[0]
        raise AdapterError(
            f"{path} holds {name} of shape {list(state[name].shape)} but this model's is {list(own[name].shape)} "
            f"({len(wrong)} tensors differ): build the model with the saved adapter settings "
            f"({Path(directory) / 'adapter_config.json'}) and the same base model."
        )
    model.load_state_dict(state, strict=False)
