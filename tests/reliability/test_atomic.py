"""A write that fails half-way leaves the previous file or folder whole, and no temp files behind."""

from __future__ import annotations

import pytest
import torch

from src.atomic import atomic_directory
from src.checkpoint_io import AtomicCheckpointIO


class FailsToPickle:
    def __reduce__(self):
        raise RuntimeError("disk full (simulated)")


def test_checkpoint_failing_mid_write_keeps_the_last_good_one(tmp_path):
    path = tmp_path / "checkpoints" / "last.ckpt"
    io = AtomicCheckpointIO()
    io.save_checkpoint({"global_step": 4, "weights": torch.ones(1000)}, path)

    with pytest.raises(RuntimeError, match="disk full"):
        io.save_checkpoint({"global_step": 6, "weights": torch.zeros(1000), "bad": FailsToPickle()}, path)

    kept = io.load_checkpoint(path)
    assert kept["global_step"] == 4 and kept["weights"].equal(torch.ones(1000))
    assert sorted(p.name for p in path.parent.iterdir()) == ["last.ckpt"]


def test_directory_is_swapped_whole_or_not_at_all(tmp_path):
    target = tmp_path / "merged" / "model"

    def write(files: dict[str, str], fail_after: int | None = None):
        def go(folder):
            for i, (name, text) in enumerate(files.items()):
                if i == fail_after:
                    raise OSError("killed (simulated)")
                (folder / name).write_text(text)

        return go

    atomic_directory(target, write({"config.json": "old", "model.safetensors": "old"}))
    with pytest.raises(OSError, match="killed"):
        atomic_directory(target, write({"config.json": "new", "model.safetensors": "new"}, fail_after=1))
    assert {p.name: p.read_text() for p in target.iterdir()} == {"config.json": "old", "model.safetensors": "old"}

    atomic_directory(target, write({"config.json": "new"}))
    assert {p.name: p.read_text() for p in target.iterdir()} == {"config.json": "new"}
    assert sorted(p.name for p in target.parent.iterdir()) == ["model"]
