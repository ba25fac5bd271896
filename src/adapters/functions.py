"""Functions over a whole model: apply, freeze, merge, disable, save, load, count."""

from __future__ import annotations

import contextlib
import dataclasses
import importlib.metadata
import json
from collections import Counter
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import load_file, save_file
from torch import nn

from src.atomic import atomic_write

from .base import Adapter, AdapterError
from .placement import Placement
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
    mergeable = [a for a in adapters_of(model) if a.mergeable]
    done: list[Adapter] = []
    try:
        for adapter in mergeable:
            adapter.merge()
            done.append(adapter)
    except AdapterError:
        for adapter in reversed(done):
            adapter.unmerge()
        raise
    return [a for a in adapters_of(model) if not a.mergeable]


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


def count_parameters(model: nn.Module, placement: Placement) -> dict[str, Any]:
    """Total, trainable, adapter, head and norm counts; percentages of the backbone without head."""
    adapter_names = adapter_parameter_names(model)
    norm_names = norm_parameter_names(model, placement)
    params = dict(model.named_parameters())
    total = sum(p.numel() for p in params.values())
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
