"""Lightning checkpoints written atomically: a temp file beside the target, fsynced, then renamed.

Lightning's own ``TorchCheckpointIO`` writes through an fsspec transaction, which on a local disk
stages the file elsewhere and moves it, so a kill during the move can leave a truncated
``last.ckpt``. A rename in the same directory cannot.
"""

from __future__ import annotations

from typing import Any

import torch
from lightning.fabric.utilities.types import _PATH
from lightning.pytorch.plugins.io import TorchCheckpointIO

from src.atomic import atomic_write


class AtomicCheckpointIO(TorchCheckpointIO):
    def save_checkpoint(
        self, checkpoint: dict[str, Any], path: _PATH, storage_options: Any | None = None
    ) -> None:
        if storage_options is not None:
            raise TypeError(f"{type(self).__name__} takes no storage_options.")
        atomic_write(
            path, lambda tmp: save_through_python(checkpoint, tmp), size_hint=tensor_bytes(checkpoint)
        )


def save_through_python(checkpoint: dict[str, Any], tmp: str) -> None:
    """``torch.save`` into a Python file: a full disk raises ``OSError(ENOSPC)`` (given a path, torch's own
    writer reports it as an unrelated ``RuntimeError`` about stream positions)."""
    with open(tmp, "wb") as handle:
        torch.save(checkpoint, handle)


def tensor_bytes(value: Any) -> int:
    if isinstance(value, torch.Tensor):
        return value.numel() * value.element_size()
    if isinstance(value, dict):
        return sum(tensor_bytes(v) for v in value.values())
    if isinstance(value, list | tuple):
        return sum(tensor_bytes(v) for v in value)
    return 0
