"""Shared pieces of the reliability tests: cheap run settings, the CLI in a subprocess, fault injectors."""

from __future__ import annotations

import errno
import math
import os
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import lightning as L
import torch

from src.adapters import adapters_of
from src.config import ROOT
from tests.conftest import GLUE_DIR, SHARED

# Other engineers' measuring callbacks time things; they have their own tests and only slow these down.
WITHOUT_MEASUREMENTS = (
    "~callbacks.param_count",
    "~callbacks.merge",
    "~callbacks.latency",
    "~callbacks.train_speed",
)

# tiny_bert on 16 real RTE rows cut to 64 tokens, batch 4: 4 optimiser steps an epoch.
STEPS_PER_EPOCH = 4
TINY_RTE = (
    "backbone=tiny_bert",
    "task=rte",
    "data.max_train_samples=16",
    "data.max_length=64",
    "data.max_eval_samples=8",
    "data.batch_size=4",
    "data.eval_batch_size=8",
    "+trainer.enable_progress_bar=false",
    *WITHOUT_MEASUREMENTS,
)

# half a second more an optimiser step, so that a test can act between two steps
SLOW_STEPS = ("+callbacks.slow._target_=tests.reliability.helpers.SlowSteps", "+callbacks.slow.seconds=0.5")


def cli_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("WANDB_", "HYDRA_FULL_ERROR"))}
    # One thread, like the in-process runs these are compared with (tests/conftest.py one_thread): a long
    # reduction split over another number of threads rounds differently, so bit-exactness needs the same count.
    return {
        **env,
        "KRONLAB_SHARED": str(SHARED),
        "TOKENIZERS_PARALLELISM": "false",
        "OMP_NUM_THREADS": "1",
        **extra,
    }


def cli_command(*overrides: str) -> list[str]:
    return [sys.executable, "-m", "src.train", f"data.glue_dir={GLUE_DIR}", *overrides]


def start_cli(*overrides: str, wrapper: Sequence[str] = (), **env: str) -> subprocess.Popen:
    return subprocess.Popen(
        [*wrapper, *cli_command(*overrides)],
        cwd=ROOT,
        env=cli_env(**env),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


# root passes every permission check; without these two capabilities it meets a folder's mode like anyone
WITHOUT_ROOT_OVERRIDE = (
    ("setpriv", "--bounding-set", "-dac_override,-dac_read_search") if os.geteuid() == 0 else ()
)


def permissions_apply() -> bool:
    """Whether a subprocess started with ``WITHOUT_ROOT_OVERRIDE`` is refused a folder's missing write bit."""
    if not WITHOUT_ROOT_OVERRIDE:
        return True
    try:
        return subprocess.run([*WITHOUT_ROOT_OVERRIDE, "true"], capture_output=True).returncode == 0
    except OSError:  # no setpriv
        return False


def finish_cli(process: subprocess.Popen, timeout_s: float = 240) -> subprocess.CompletedProcess:
    stdout, stderr = process.communicate(timeout=timeout_s)
    return subprocess.CompletedProcess(process.args, process.returncode, stdout, stderr)


def run_cli(*overrides: str, **env: str) -> subprocess.CompletedProcess:
    return finish_cli(start_cli(*overrides, **env))


def wait_until(done: Callable[[], Any], what: str, process: subprocess.Popen, timeout_s: float = 240) -> Any:
    """Poll ``done()`` until it returns something true (returned); fail if ``process`` ends or time runs out."""
    deadline = time.monotonic() + timeout_s
    while not (result := done()):
        if process.poll() is not None:
            raise AssertionError(
                f"the run ended (exit {process.returncode}) before {what}: {process.stderr.read()}"
            )
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} did not happen within {timeout_s} s")
        time.sleep(0.02)
    return result


def wait_for(path: Path, process: subprocess.Popen, timeout_s: float = 240) -> None:
    wait_until(path.exists, f"{path} appeared", process, timeout_s)


def load_checkpoint(path: Path) -> dict[str, Any]:
    return torch.load(path, map_location="cpu", weights_only=True)


def all_finite(state: dict[str, torch.Tensor]) -> bool:
    return all(torch.isfinite(t).all() for t in state.values() if t.is_floating_point())


class SlowSteps(L.Callback):
    """Makes each optimiser step take ``seconds`` longer, so a test can kill the run between two."""

    def __init__(self, seconds: float, marker: str | None = None) -> None:
        self.seconds = seconds
        self.marker = marker

    def on_train_batch_end(self, trainer: L.Trainer, *args: Any) -> None:
        if self.marker:  # "<pid> <steps done>", for a test that signals the run after a given step
            Path(self.marker).write_text(f"{os.getpid()} {trainer.global_step}")
        time.sleep(self.seconds)


def step_marker(marker: Path) -> tuple[int, int] | None:
    """(pid, steps done) from a ``SlowSteps`` marker, or None before its first complete write."""
    text = marker.read_text().split() if marker.exists() else []
    return (int(text[0]), int(text[1])) if len(text) == 2 else None


def wait_for_step(marker: Path, step: int, process: subprocess.Popen, timeout_s: float = 240) -> int:
    """Wait until the run's ``SlowSteps`` marker says ``step`` optimiser steps are done; returns its pid."""
    reached = wait_until(
        lambda: (m := step_marker(marker)) and m[1] >= step and m, f"step {step}", process, timeout_s
    )
    return reached[0]


class PoisonAt(L.Callback):
    """Puts a NaN into the first adapter's first factor right before optimiser step ``step`` (0-based)."""

    def __init__(self, step: int) -> None:
        self.step = step

    def on_train_batch_start(self, trainer: L.Trainer, pl_module: L.LightningModule, *args: Any) -> None:
        if trainer.global_step == self.step:
            first = adapters_of(pl_module)[0]
            with torch.no_grad():
                next(first.parameters()).view(-1)[0] = math.nan


class FullDiskFromSave(L.Callback):
    """From the ``save``-th checkpoint written (0-based) on, the disk is full: each write of a checkpoint
    raises ``OSError(ENOSPC)`` after its first bytes, as a filesystem out of space or quota does."""

    def __init__(self, save: int) -> None:
        self.save = save

    def setup(self, trainer: L.Trainer, pl_module: L.LightningModule, stage: str) -> None:
        import src.training.checkpoint_io as checkpoint_io

        saves = iter(range(1_000_000))

        def full_open(path: str, mode: str = "r", *args: Any, **kwargs: Any) -> Any:
            handle = open(path, mode, *args, **kwargs)  # noqa: SIM115  (closed by the wrapper)
            return handle if next(saves) < self.save else _FullAfter(handle, 4096)

        checkpoint_io.open = full_open  # the module's name ``open`` shadows the builtin for its one use


class _FullAfter:
    def __init__(self, handle: Any, room: int) -> None:
        self.handle, self.room = handle, room

    def write(self, data: bytes) -> int:
        if len(data) > self.room:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        self.room -= len(data)
        return self.handle.write(data)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.handle, name)

    def __enter__(self) -> _FullAfter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.handle.close()
