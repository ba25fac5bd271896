"""A truncated or corrupted last.ckpt is caught before a resume: the run falls back to the newest good
checkpoint of the run (and resumes exactly from it) or is refused in one line; it never starts over while
saying it resumed."""

from __future__ import annotations

import json
import signal

import pytest

from src.run.fit import run
from src.training.checkpoint_trust import damage
from tests.conftest import compose_config

from .helpers import STEPS_PER_EPOCH, TINY_RTE, load_checkpoint, run_cli, start_cli, wait_for_step

EPOCHS = 2
RUN = (
    *TINY_RTE,
    f"trainer.max_epochs={EPOCHS}",
    "callbacks.last_checkpoint.every_n_train_steps=2",
    "seed=11",
)


def killed_in_the_second_epoch(run_dir, marker):
    slow = ("+callbacks.slow._target_=tests.reliability.helpers.SlowSteps", "+callbacks.slow.seconds=0.5")
    victim = start_cli(*RUN, *slow, f"+callbacks.slow.marker={marker}", f"hydra.run.dir={run_dir}")
    try:
        wait_for_step(marker, STEPS_PER_EPOCH + 1, victim)
    finally:
        victim.send_signal(signal.SIGKILL)
        victim.wait()


def truncate(path):
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


def flip_a_byte_in_a_tensor(path):
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF  # the middle of the archive: tensor data, which torch.load reads silently
    path.write_bytes(bytes(data))


@pytest.mark.parametrize("spoil", [truncate, flip_a_byte_in_a_tensor], ids=["truncated", "bit_flip"])
def test_damaged_checkpoint_is_detected(tmp_path, spoil):
    interrupted = run(compose_config((*RUN, "trainer.max_epochs=1"), tmp_path / "run"))
    assert interrupted.finished
    last = tmp_path / "run" / "checkpoints" / "last.ckpt"
    assert damage(last) is None
    spoil(last)
    assert damage(last) is not None


def test_corrupt_last_falls_back_to_the_newest_good_checkpoint_and_resumes_exactly(tmp_path):
    run_dir = tmp_path / "run"
    killed_in_the_second_epoch(run_dir, tmp_path / "step")  # last.ckpt and the best so far (step 4)
    last = run_dir / "checkpoints" / "last.ckpt"
    flip_a_byte_in_a_tensor(last)

    resumed = run_cli(*RUN, f"hydra.run.dir={run_dir}")
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    said = resumed.stdout + resumed.stderr  # Hydra's console log is on stdout
    assert "fails its CRC check" in said and "resuming from epoch00-step4.ckpt instead" in said, said[-3000:]
    assert list((run_dir / "checkpoints").glob("last.ckpt.corrupt-*")), "the damaged file is kept aside"
    reference = run(compose_config(RUN, tmp_path / "reference"))
    assert json.loads((run_dir / "results.json").read_text())["metrics"] == reference.metrics
    final, reference_final = (
        load_checkpoint(d / "checkpoints" / "last.ckpt") for d in (run_dir, tmp_path / "reference")
    )
    assert final["global_step"] == reference_final["global_step"] == EPOCHS * STEPS_PER_EPOCH
    for name, tensor in reference_final["state_dict"].items():
        assert final["state_dict"][name].equal(tensor), name


def test_corrupt_last_with_nothing_to_fall_back_to_is_refused_in_one_line(tmp_path):
    run_dir = tmp_path / "run"
    run(compose_config((*RUN, "trainer.max_epochs=1"), run_dir))
    for other in (run_dir / "checkpoints").glob("epoch*.ckpt"):
        other.unlink()
    truncate(run_dir / "checkpoints" / "last.ckpt")
    results_before = (run_dir / "results.json").read_text()

    refused = run_cli(*RUN, f"hydra.run.dir={run_dir}")
    assert refused.returncode == 2, refused.stderr[-3000:]
    line = refused.stderr.strip().splitlines()[-1]
    assert line.startswith("error: ") and "last.ckpt is truncated" in line and "ckpt_path=" in line, line
    assert (run_dir / "results.json").read_text() == results_before, (
        "a refused resume overwrote the run's results"
    )


def test_named_checkpoint_that_is_corrupt_is_refused(tmp_path):
    run(compose_config((*RUN, "trainer.max_epochs=1"), tmp_path / "run"))
    named = tmp_path / "run" / "checkpoints" / "last.ckpt"
    flip_a_byte_in_a_tensor(named)
    refused = run_cli(*RUN, "train=false", f"ckpt_path={named}", f"hydra.run.dir={tmp_path / 'eval'}")
    assert refused.returncode == 2, refused.stderr[-3000:]
    assert "fails its CRC check" in refused.stderr.strip().splitlines()[-1]
