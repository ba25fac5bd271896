"""A preempted run (SIGTERM, or SIGUSR1 as SLURM's --signal sends it) stops at the end of its step with a
resumable last.ckpt, says so in one line and in results.json, and the same command resumes it to the
bit-identical weights and metrics of an uninterrupted run."""

from __future__ import annotations

import json
import os
import signal

import pytest

from src.run.fit import run
from tests.conftest import compose_config

from .helpers import (
    STEPS_PER_EPOCH,
    TINY_RTE,
    finish_cli,
    load_checkpoint,
    start_cli,
    step_marker,
    wait_for_step,
    wait_until,
)

EPOCHS = 2
# no periodic last.ckpt: whatever last.ckpt holds past the first epoch, the signal's handling saved
RUN = (
    *TINY_RTE,
    f"trainer.max_epochs={EPOCHS}",
    "callbacks.last_checkpoint.every_n_train_steps=1000",
    "seed=5",
)
SIGNALLED_AFTER = STEPS_PER_EPOCH + 1  # mid-epoch, past the checkpoint saved at the first epoch's end


@pytest.mark.parametrize("stop", [signal.SIGTERM, signal.SIGUSR1], ids=["SIGTERM", "SIGUSR1"])
def test_preempted_run_saves_its_step_and_resumes_bit_identical(tmp_path, stop):
    run_dir = tmp_path / "preempted"
    marker = tmp_path / "step"
    slow = ("+callbacks.slow._target_=tests.reliability.helpers.SlowSteps", "+callbacks.slow.seconds=0.5")
    victim = start_cli(*RUN, *slow, f"+callbacks.slow.marker={marker}", f"hydra.run.dir={run_dir}")
    try:
        wait_for_step(marker, SIGNALLED_AFTER, victim)
        victim.send_signal(stop)
        stopped = finish_cli(victim, timeout_s=60)
    finally:
        victim.kill()
    assert stopped.returncode == 128 + stop, stopped.stderr[-3000:]
    last_line = stopped.stderr.strip().splitlines()[-1]
    saved_at = load_checkpoint(run_dir / "checkpoints" / "last.ckpt")["global_step"]
    assert SIGNALLED_AFTER <= saved_at < EPOCHS * STEPS_PER_EPOCH
    assert last_line.startswith(f"error: stopped by {stop.name} at step {saved_at};"), last_line
    results = json.loads((run_dir / "results.json").read_text())
    assert results["status"] == "failed" and results["error"]["reason"] == "preempted"

    resumed = start_cli(*RUN, f"hydra.run.dir={run_dir}")
    reference = run(compose_config(RUN, tmp_path / "reference"))
    finished = finish_cli(resumed)
    assert finished.returncode == 0, finished.stderr[-3000:]
    assert json.loads((run_dir / "results.json").read_text())["metrics"] == reference.metrics
    resumed_final = load_checkpoint(run_dir / "checkpoints" / "last.ckpt")
    reference_final = load_checkpoint(tmp_path / "reference" / "checkpoints" / "last.ckpt")
    assert resumed_final["global_step"] == reference_final["global_step"] == EPOCHS * STEPS_PER_EPOCH
    for name, tensor in reference_final["state_dict"].items():
        assert resumed_final["state_dict"][name].equal(tensor), (
            f"{name} differs after the preempted run resumed"
        )


def test_submitit_requeues_the_preempted_job_and_it_resumes_bit_identical(tmp_path):
    """submitit's own preemption signal (SIGUSR2) to a job of Hydra's submitit launcher: the job saves its step,
    submitit requeues it (its local executor restarts it at once) and the requeued job finishes exactly."""
    sweep_dir, marker = tmp_path / "sweep", tmp_path / "step"
    slow = ("+callbacks.slow._target_=tests.reliability.helpers.SlowSteps", "+callbacks.slow.seconds=0.5")
    launcher = ("hydra.mode=MULTIRUN", "hydra/launcher=submitit_local", "hydra.launcher.timeout_min=10")
    study = start_cli(*RUN, *slow, f"+callbacks.slow.marker={marker}", *launcher,
                      f"hydra.sweep.dir={sweep_dir}", "hydra.sweep.subdir=job")  # fmt: skip
    try:
        job_pid = wait_for_step(marker, SIGNALLED_AFTER, study)
        os.kill(job_pid, signal.SIGUSR2)
        wait_until(
            lambda: (m := step_marker(marker)) and m[0] != job_pid, "the requeued job's first step", study
        )
        finished = finish_cli(study)
    finally:
        study.kill()
    assert finished.returncode == 0, finished.stderr[-3000:]
    submitit_log = "".join(p.read_text() for p in sweep_dir.glob(".submitit/*/*_log.*"))
    assert "stopped by SIGUSR2 at step" in submitit_log and "Requeued job" in submitit_log, submitit_log[
        -3000:
    ]

    reference = run(compose_config(RUN, tmp_path / "reference"))
    run_dir = sweep_dir / "job"
    assert json.loads((run_dir / "results.json").read_text())["metrics"] == reference.metrics
    requeued_final = load_checkpoint(run_dir / "checkpoints" / "last.ckpt")
    reference_final = load_checkpoint(tmp_path / "reference" / "checkpoints" / "last.ckpt")
    assert requeued_final["global_step"] == reference_final["global_step"]
    for name, tensor in reference_final["state_dict"].items():
        assert requeued_final["state_dict"][name].equal(tensor), (
            f"{name} differs after the requeued job resumed"
        )
