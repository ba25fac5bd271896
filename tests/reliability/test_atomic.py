"""A write that fails half-way leaves the previous file or folder whole, and no temp files behind."""

from __future__ import annotations

import os
import stat

import pytest
import torch
from safetensors.torch import save_file

from src.atomic import atomic_directory, atomic_write, write_json_atomic
from src.training.checkpoint_io import AtomicCheckpointIO


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
    assert {p.name: p.read_text() for p in target.iterdir()} == {
        "config.json": "old",
        "model.safetensors": "old",
    }

    atomic_directory(target, write({"config.json": "new"}))
    assert {p.name: p.read_text() for p in target.iterdir()} == {"config.json": "new"}
    assert sorted(p.name for p in target.parent.iterdir()) == ["model"]


@pytest.mark.parametrize(
    ("umask", "file_mode", "folder_mode"), [(0o022, 0o644, 0o755), (0o077, 0o600, 0o700)]
)
def test_outputs_follow_the_umask(tmp_path, umask, file_mode, folder_mode):
    previous = os.umask(umask)
    try:
        write_json_atomic(tmp_path / "results.json", {"metrics": {}})
        atomic_write(
            tmp_path / "adapter.safetensors", lambda tmp: save_file({"a": torch.ones(2)}, tmp)
        )  # 0o600 itself
        AtomicCheckpointIO().save_checkpoint({"global_step": 1}, tmp_path / "checkpoints" / "last.ckpt")
        atomic_directory(
            tmp_path / "merged" / "model",
            lambda folder: (
                save_file({"w": torch.ones(2)}, folder / "model.safetensors"),
                (folder / "sub").mkdir(),
            ),
        )
    finally:
        os.umask(previous)
    files = ["results.json", "adapter.safetensors", "checkpoints/last.ckpt", "merged/model/model.safetensors"]
    folders = ["checkpoints", "merged", "merged/model", "merged/model/sub"]
    assert {f: oct(stat.S_IMODE((tmp_path / f).stat().st_mode)) for f in files} == {
        f: oct(file_mode) for f in files
    }
    assert {f: oct(stat.S_IMODE((tmp_path / f).stat().st_mode)) for f in folders} == {
        f: oct(folder_mode) for f in folders
    }
