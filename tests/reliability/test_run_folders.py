"""A run folder that cannot be written, or that another process is running in, is refused in one line, exit 2,
before Hydra's logging or config files touch it."""

from __future__ import annotations

import signal

import pytest

from src.run.cli import USAGE_EXIT_CODE
from src.run.run_folder import LOCK_FILE

from .helpers import (
    SLOW_STEPS,
    TINY_RTE,
    WITHOUT_ROOT_OVERRIDE,
    permissions_apply,
    run_cli,
    start_cli,
    wait_for,
)

needs_permissions = pytest.mark.skipif(
    not permissions_apply(),
    reason="as root, a read-only folder needs setpriv (util-linux) and CAP_SETPCAP to drop the override",
)
NO_WORK = ("backbone=tiny_bert", "train=false", "test=false")


def one_line_refusal(result, *texts: str) -> None:
    assert result.returncode == USAGE_EXIT_CODE, result.stderr[-2000:]
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr[-2000:]
    for text in texts:
        assert text in lines[0]


@needs_permissions
def test_existing_read_only_run_folder_is_refused_before_logging(tmp_path):
    folder = tmp_path / "read_only"
    folder.mkdir(mode=0o555)
    result = run_cli(*NO_WORK, f"hydra.run.dir={folder}", wrapper=WITHOUT_ROOT_OVERRIDE)
    one_line_refusal(result, f"cannot write the run folder {folder}", "Permission denied", "hydra.run.dir=")
    assert list(folder.iterdir()) == []


@needs_permissions
def test_read_only_sweep_folder_is_refused_before_any_job(tmp_path):
    folder = tmp_path / "read_only_sweep"
    folder.mkdir(mode=0o555)
    result = run_cli(
        *NO_WORK,
        "hydra.mode=MULTIRUN",
        "seed=1,2",
        f"hydra.sweep.dir={folder}",
        wrapper=WITHOUT_ROOT_OVERRIDE,
    )
    one_line_refusal(result, f"cannot write the run folder {folder}", "hydra.sweep.dir=")
    assert list(folder.iterdir()) == []


def test_second_process_on_a_run_folder_is_refused_and_the_first_finishes_untouched(tmp_path):
    folder = tmp_path / "shared"
    first = start_cli(*TINY_RTE, *SLOW_STEPS, "trainer.max_epochs=50", f"hydra.run.dir={folder}")
    try:
        wait_for(folder / "checkpoints", first)  # training: its first epoch ended
        config_before = (folder / ".hydra" / "config.yaml").read_text()
        log_before = (folder / "train.log").read_text()
        second = run_cli(*TINY_RTE, "seed=3", f"hydra.run.dir={folder}")
        one_line_refusal(second, f"{folder} is in use by pid {first.pid}", "hydra.run.dir=")
        assert (folder / ".hydra" / "config.yaml").read_text() == config_before
        assert (folder / "train.log").read_text().startswith(log_before)
    finally:
        first.send_signal(signal.SIGKILL)
        first.wait()
    # the kernel dropped the killed process's lock: the same folder is usable at once
    assert (folder / LOCK_FILE).exists()
    again = run_cli(*NO_WORK, f"hydra.run.dir={folder}")
    assert again.returncode == 0, again.stderr[-2000:]
