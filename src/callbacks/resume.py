"""What Lightning leaves out of an exact resume: the random state, and (here) the data loader's position.

Lightning restores weights, optimiser, scheduler and loop counters, and stores a stateful data
loader's state in the checkpoint; but when ``configure_optimizers`` reads
``trainer.estimated_stepping_batches`` the training loader is built before the checkpoint's loop
state is restored, and Lightning never hands that saved position to it. This callback does, and
restores the RNG states, so a run resumed mid-epoch sees the same batches and dropout masks.
"""

from __future__ import annotations

from typing import Any

import lightning as L
import numpy as np
from lightning.fabric.utilities.data import _set_sampler_epoch
from lightning.fabric.utilities.seed import _collect_rng_states, _set_rng_states


def _loadable(states: dict[str, Any]) -> dict[str, Any]:
    """NumPy's key array as a list, so ``torch.load(weights_only=True)`` (Lightning's default) accepts it."""
    name, keys, pos, has_gauss, cached = states["numpy"]
    return {**states, "numpy": (name, keys.tolist(), pos, has_gauss, cached)}


def _restorable(states: dict[str, Any]) -> dict[str, Any]:
    name, keys, pos, has_gauss, cached = states["numpy"]
    return {**states, "numpy": (name, np.asarray(keys, dtype=np.uint32), pos, has_gauss, cached)}


class ExactResume(L.Callback):
    """Saves the RNG states with every checkpoint; restores them right before the first resumed batch.

    Restoring at the first batch (not at load time) skips whatever set-up draws happen between
    loading and training, which an uninterrupted run does not make at that point.
    """

    def __init__(self) -> None:
        self._pending: dict[str, Any] | None = None

    def state_dict(self) -> dict[str, Any]:
        return {"rng": _loadable(_collect_rng_states(include_cuda=True))}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        self._pending = _restorable(state_dict["rng"]) if "rng" in state_dict else None

    def on_train_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        loop = trainer.fit_loop
        if not loop._combined_loader_states_to_load:  # not resuming from a checkpoint
            return
        for loader in loop._combined_loader.flattened:
            _set_sampler_epoch(loader, loop.epoch_progress.current.processed)
        if loop.epoch_loop.batch_progress.current.completed >= trainer.num_training_batches:
            # saved at an epoch's end (after its validation): the next epoch starts afresh in its own order;
            # the finished epoch's position, handed on, would replay the finished epoch's order
            loop._combined_loader_states_to_load = []
        else:
            loop._load_combined_loader_states()
        iter(loop._data_fetcher)  # the iterator made before the restore starts over; this one continues

    def on_train_batch_start(
        self, trainer: L.Trainer, pl_module: L.LightningModule, batch: Any, batch_idx: int
    ) -> None:
        if self._pending is not None:
            _set_rng_states(self._pending)
            self._pending = None
