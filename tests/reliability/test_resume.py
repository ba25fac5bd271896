"""A run killed mid-epoch resumes from last.ckpt and ends exactly where an uninterrupted run ends."""

from __future__ import annotations

import json
import signal

from src.run.fit import run
from tests.conftest import compose_config

from .helpers import SLOW_STEPS, STEPS_PER_EPOCH, TINY_RTE, finish_cli, load_checkpoint, start_cli, wait_for

EPOCHS = 2
RUN = (*TINY_RTE, f"trainer.max_epochs={EPOCHS}", "callbacks.last_checkpoint.every_n_train_steps=2", "seed=7")


def test_killed_run_resumes_to_the_same_weights_and_metrics(tmp_path):
    killed_dir = tmp_path / "killed"
    victim = start_cli(*RUN, *SLOW_STEPS, f"hydra.run.dir={killed_dir}")
    last = killed_dir / "checkpoints" / "last.ckpt"
    try:
        wait_for(last, victim)
    finally:
        victim.send_signal(signal.SIGKILL)
        victim.wait()
    assert not (killed_dir / "results.json").exists()
    interrupted_at = load_checkpoint(last)["global_step"]
    assert 0 < interrupted_at % STEPS_PER_EPOCH, f"the kill should land mid-epoch, got step {interrupted_at}"

    # Same directory, no ckpt_path: the CLI finds last.ckpt itself. Runs meanwhile the reference run.
    resumed = start_cli(*RUN, f"hydra.run.dir={killed_dir}")
    reference = run(compose_config(RUN, tmp_path / "reference"))
    finished = finish_cli(resumed)
    assert finished.returncode == 0, finished.stderr[-3000:]

    resumed_results = json.loads((killed_dir / "results.json").read_text())
    assert resumed_results["config"]["ckpt_path"] == "last"
    assert resumed_results["metrics"] == reference.metrics
    resumed_final = load_checkpoint(killed_dir / "checkpoints" / "last.ckpt")
    reference_final = load_checkpoint(tmp_path / "reference" / "checkpoints" / "last.ckpt")
    assert resumed_final["global_step"] == reference_final["global_step"] == EPOCHS * STEPS_PER_EPOCH
    for name, tensor in reference_final["state_dict"].items():
        assert resumed_final["state_dict"][name].equal(tensor), f"{name} differs after resuming"
