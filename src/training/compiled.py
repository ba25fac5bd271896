"""``trainer.compile``: the model compiled in place by torch.compile before fitting.

``nn.Module.compile`` keeps the module object, so its state_dict keys, adapter-sized checkpoints, installed hooks,
merging and unloading work as on the eager model; torch recompiles where an adapter changes what the forward does
(merged, disabled, eval mode).
"""

from __future__ import annotations

from typing import Any

from torch import nn


def compile_mode(setting: Any) -> str | None:
    """The torch.compile mode ``trainer.compile`` asks for: None for false, "default" for true."""
    if setting is None or setting is False:
        return None
    return "default" if setting is True else str(setting)


def compile_in_place(model: nn.Module, mode: str, backend: str = "inductor", fullgraph: bool = False) -> None:
    """Compile ``model``'s forward (with its hooks) in place; ``mode`` is inductor's and ignored by other backends."""
    options = {"mode": mode} if backend == "inductor" else {}
    model.compile(backend=backend, fullgraph=fullgraph, **options)
