"""A plain copy of a merged model: what ``save_pretrained`` should see."""

from __future__ import annotations

import copy

from torch import nn

from src.adapters import AdapterError, adapters_of, merge_and_unload


def without_adapters(model: nn.Module) -> nn.Module:
    """A deep copy of a fully merged ``model`` with every adapter taken out (``merge_and_unload``: modules,
    hooks, forward overrides, peft's layers). Its forward equals the merged model's, and its parameter
    count is the bare backbone's."""
    unmerged = sorted({a.method for a in adapters_of(model) if not a.merged})
    if unmerged:
        raise AdapterError(
            f"cannot strip adapters that are not merged ({', '.join(unmerged)}): their update is not in the "
            "backbone weights. Merge them first (merge_all), or keep them: they are not mergeable."
        )
    return merge_and_unload(copy.deepcopy(model))
