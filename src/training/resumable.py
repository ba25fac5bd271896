"""A training order that survives a restart mid-epoch.

The order of epoch ``e`` is a permutation drawn from ``seed + e`` alone (Lightning calls
``set_epoch`` on every sampler that has it), so a resumed run reproduces it without any saved
sampler state; torchdata's ``StatefulDataLoader`` records how many batches were taken, Lightning
stores that in the checkpoint, and the resumed loader skips them.
"""

from __future__ import annotations

from collections.abc import Iterator, Sized

import torch
from torch.utils.data import DataLoader, RandomSampler
from torchdata.stateful_dataloader import StatefulDataLoader

from src.data import GlueDataModule


class EpochSeededSampler(RandomSampler):
    """A shuffle fixed by ``seed`` and the epoch. A ``RandomSampler`` so that under DDP Lightning swaps in
    its ``DistributedSampler``, which is seeded by the global seed and the epoch in the same way."""

    def __init__(self, data_source: Sized, seed: int) -> None:
        super().__init__(data_source)
        self.seed = seed
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __iter__(self) -> Iterator[int]:
        generator = torch.Generator().manual_seed(self.seed + self.epoch)
        return iter(torch.randperm(len(self.data_source), generator=generator).tolist())


def resumable_loader(loader: DataLoader, seed: int) -> StatefulDataLoader:
    """The same batches as a shuffling ``loader``, in an order fixed by ``seed`` and the epoch, resumable."""
    return StatefulDataLoader(
        loader.dataset,
        batch_size=loader.batch_size,
        sampler=EpochSeededSampler(loader.dataset, seed),
        num_workers=loader.num_workers,
        collate_fn=loader.collate_fn,
        pin_memory=loader.pin_memory,
        drop_last=loader.drop_last,
        # workers (if any) draw their seeds from this, not from the global RNG the model uses
        generator=torch.Generator().manual_seed(seed),
    )


class ResumableGlueDataModule(GlueDataModule):
    """``GlueDataModule`` whose training order comes from ``order_seed`` and the epoch, resumable mid-epoch."""

    def __init__(self, order_seed: int, **kwargs) -> None:
        super().__init__(**kwargs)
        self.order_seed = order_seed

    def train_dataloader(self) -> StatefulDataLoader:
        return resumable_loader(super().train_dataloader(), self.order_seed)
