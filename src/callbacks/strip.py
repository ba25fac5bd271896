"""A plain copy of a merged model: adapter modules, their forward hooks and forward overrides removed."""

from __future__ import annotations

import copy

from torch import nn

from src.adapters import Adapter, AdapterError, adapters_of


def _drop_adapter_hooks(module: nn.Module) -> None:
    for hooks, with_kwargs in (
        (module._forward_hooks, module._forward_hooks_with_kwargs),
        (module._forward_pre_hooks, module._forward_pre_hooks_with_kwargs),
    ):
        for key, hook in list(hooks.items()):
            if isinstance(getattr(hook, "__self__", None), Adapter):
                del hooks[key]
                with_kwargs.pop(key, None)
    if isinstance(getattr(module.__dict__.get("forward"), "__self__", None), Adapter):
        del module.forward  # installed by install_fused: back to the class's own forward


def without_adapters(model: nn.Module) -> nn.Module:
    """A deep copy of a fully merged ``model`` with no adapter left in it: what ``save_pretrained`` should see.

    Its forward equals the merged model's, and its parameter count is the bare backbone's.
    """
    unmerged = sorted({a.method for a in adapters_of(model) if not a.merged})
    if unmerged:
        raise AdapterError(
            f"cannot strip adapters that are not merged ({', '.join(unmerged)}): their update is not in the "
            "backbone weights. Merge them first (merge_all), or keep them: they are not mergeable."
        )
    stripped = copy.deepcopy(model)
    for module in list(stripped.modules()):
        _drop_adapter_hooks(module)
        for name, child in list(module.named_children()):
            if isinstance(child, Adapter):
                delattr(module, name)
    return stripped
