"""Stop on the first NaN/Inf training loss, saying where it came from, before it reaches the weights."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import lightning as L
import torch
from torch import nn

from src.errors import NumericsError

SHOWN_INPUT_IDS = 8


def _non_finite(output: Any) -> bool:
    tensors = output if isinstance(output, tuple | list) else (output,)
    return any(
        isinstance(t, torch.Tensor) and t.is_floating_point() and not torch.isfinite(t).all() for t in tensors
    )


def non_finite_parameter(module: nn.Module, prefix: str) -> str | None:
    """The first parameter in ``module`` (its children included) holding NaN/Inf, with its owner's type."""
    for name, owner in module.named_modules(prefix=prefix):
        for param_name, param in owner.named_parameters(recurse=False):
            if not torch.isfinite(param).all():
                return f"{name}.{param_name} ({type(owner).__name__})"
    return None


@torch.no_grad()
def first_non_finite_module(model: nn.Module, forward: Any) -> str | None:
    """Run ``forward()`` with a hook on every module; the name of the first whose output is NaN/Inf, and
    the non-finite parameter it holds, if any (a fused adapter computes inside its host layer)."""
    found: list[str] = []

    def watch(name: str):
        def hook(module: nn.Module, args: tuple, output: Any) -> None:
            if not found and _non_finite(output):
                parameter = non_finite_parameter(module, name)
                holding = f", which holds the non-finite parameter {parameter}" if parameter else ""
                found.append(f"{name} ({type(module).__name__}){holding}")

        return hook

    handles = [m.register_forward_hook(watch(n)) for n, m in model.named_modules() if n]
    try:
        forward()
    finally:
        for handle in handles:
            handle.remove()
    return found[0] if found else None


class NumericsGuard(L.Callback):
    """Raises ``NumericsError`` before backward of a non-finite loss, so no optimiser step sees it.

    The check is one ``isfinite`` on the loss per step; the search for the first bad layer (a second
    forward pass of the same batch with hooks on every module) runs only when the loss is bad. The
    last good checkpoint stays the last one written.
    """

    def __init__(self) -> None:
        self._batch: Any = None
        self._batch_idx = -1

    def on_train_batch_start(
        self, trainer: L.Trainer, pl_module: L.LightningModule, batch: Any, batch_idx: int
    ) -> None:
        self._batch, self._batch_idx = batch, batch_idx

    def on_before_backward(
        self, trainer: L.Trainer, pl_module: L.LightningModule, loss: torch.Tensor
    ) -> None:
        if torch.isfinite(loss).all():
            return
        raise NumericsError(self.describe(trainer, pl_module, loss))

    def describe(self, trainer: L.Trainer, pl_module: L.LightningModule, loss: torch.Tensor) -> str:
        batch = self._batch
        layer = first_non_finite_module(pl_module, lambda: pl_module.backbone.loss(batch))
        input_ids = batch.get("input_ids") if isinstance(batch, Mapping) else None
        first_ids = input_ids[0, :SHOWN_INPUT_IDS].tolist() if input_ids is not None else "n/a"
        where = (
            f"first non-finite output: {layer}"
            if layer
            else "every module output was finite (the loss itself overflowed)"
        )
        return (
            f"training loss is {loss.item()} at global step {trainer.global_step} "
            f"(epoch {trainer.current_epoch}, batch {self._batch_idx}, first input ids {first_ids}); {where}. "
            "Training stopped before this step changed any weight; the last checkpoint is the last good one. "
            "Lower optim.lr, keep trainer.gradient_clip_val, or check the adapter's scale and init."
        )
