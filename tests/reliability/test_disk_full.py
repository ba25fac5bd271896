"""A full disk while a checkpoint is written: the previous file is intact, the run ends in one line naming
the folder and the space needed, results.json says failed (disk_full), and the same command resumes."""

from __future__ import annotations

import json
import subprocess

import pytest

from src.training.checkpoint_trust import damage

from .helpers import TINY_RTE, load_checkpoint, run_cli

RUN = (*TINY_RTE, "trainer.max_epochs=2", "callbacks.last_checkpoint.every_n_train_steps=2", "seed=13")


def assert_ended_for_lack_of_space(result, run_dir, saved_step):
    assert result.returncode == 2, result.stderr[-3000:]
    line = result.stderr.strip().splitlines()[-1]
    assert line.startswith(f"error: no space left in {run_dir / 'checkpoints'} while writing "), line
    assert "MiB free, at least" in line and "run the same command again" in line, line
    last = run_dir / "checkpoints" / "last.ckpt"
    assert damage(last) is None, "the previous last.ckpt must survive intact"
    assert load_checkpoint(last)["global_step"] == saved_step
    assert not list((run_dir / "checkpoints").glob(".*.tmp")), "a partial temporary file was left behind"
    results = json.loads((run_dir / "results.json").read_text())
    assert results["status"] == "failed" and results["error"]["reason"] == "disk_full"


def test_enospc_from_the_checkpoint_write_path(tmp_path):
    run_dir = tmp_path / "run"
    inject = ("+callbacks.full._target_=tests.reliability.helpers.FullDiskFromSave", "+callbacks.full.save=1")
    result = run_cli(*RUN, *inject, f"hydra.run.dir={run_dir}")
    assert_ended_for_lack_of_space(result, run_dir, saved_step=2)  # save 0: last.ckpt at step 2

    resumed = run_cli(*RUN, f"hydra.run.dir={run_dir}")  # space again: the same command resumes
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert load_checkpoint(run_dir / "checkpoints" / "last.ckpt")["global_step"] == 8


@pytest.fixture
def small_filesystem(tmp_path):
    """A 100 KiB tmpfs (two of tiny_bert's 45 KB checkpoints and the run's small files fit, a third does not)."""
    folder = tmp_path / "small"
    folder.mkdir()
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=100k", "tmpfs", str(folder)], capture_output=True
    )
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a small tmpfs here: {mounted.stderr.decode().strip()}")
    try:
        yield folder
    finally:
        subprocess.run(["umount", "-l", str(folder)], check=False)


def test_a_real_full_filesystem(small_filesystem):
    run_dir = small_filesystem / "run"
    result = run_cli(*RUN, f"hydra.run.dir={run_dir}")
    saved = load_checkpoint(run_dir / "checkpoints" / "last.ckpt")["global_step"]
    assert 0 < saved < 8
    assert_ended_for_lack_of_space(result, run_dir, saved_step=saved)
