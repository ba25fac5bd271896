"""A run folder is claimed before Hydra's logging opens a file in it: writable, and held by one process.

``RunFolderGuard`` is a Hydra callback (conf/hydra/default.yaml). A single run claims ``hydra.run.dir`` in
``on_run_start``, which Hydra calls before it creates the folder and configures logging; a multirun checks
that ``hydra.sweep.dir`` can be written before any job; a multirun job claims its own folder inside the task
(``claimed``), so that a refusal there is one failed job and the launcher's other jobs go on.
The claim is an advisory ``flock`` on ``<folder>/.kronlab.lock``: the kernel drops it when the process dies,
so a killed run never leaves a stale lock, and a second process on the same folder is refused in one line.
"""

from __future__ import annotations

import fcntl
import os
import socket
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from hydra.experimental.callback import Callback
from lightning.pytorch.utilities import rank_zero_only
from omegaconf import DictConfig, OmegaConf

from src.errors import UserError

LOCK_FILE = ".kronlab.lock"


class RunFolderError(UserError):
    """A run folder that cannot be written, or that another live process is running in."""


def require_writable(folder: Path) -> None:
    """Create ``folder`` (and its parents) and write a probe file in it, so a read-only folder, a full
    quota or a file in the way is refused here with the folder's name, not in Hydra's logging setup."""
    hint = "choose a folder you can write: hydra.run.dir=/path/to/run (multirun: hydra.sweep.dir=...)"
    try:
        folder.mkdir(parents=True, exist_ok=True)
        probe = folder / f".kronlab-probe-{os.getpid()}"
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as error:
        raise RunFolderError(f"cannot write the run folder {folder} ({error.strerror}); {hint}.") from error


def claim(folder: Path) -> int | None:
    """Hold ``folder`` for this process (an open, locked file descriptor); refuse if another process does.

    Only the run's rank 0 holds it: the other ranks of a distributed run (Lightning starts them with the same
    command and ``LOCAL_RANK``/``RANK`` set, SLURM with ``SLURM_PROCID``) share rank 0's folder."""
    require_writable(folder)
    if rank_zero_only.rank != 0:
        return None
    descriptor = os.open(folder / LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o666)
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        holder = os.pread(descriptor, 200, 0).decode(errors="replace").strip() or "another process"
        os.close(descriptor)
        raise RunFolderError(
            f"{folder} is in use by {holder}: wait for it to end, or give this run its own folder "
            "(hydra.run.dir=...); the same command afterwards resumes from that run's last checkpoint."
        ) from None
    os.ftruncate(descriptor, 0)
    started = time.strftime("%Y-%m-%d %H:%M:%S")
    os.pwrite(descriptor, f"pid {os.getpid()} on {socket.gethostname()} since {started}\n".encode(), 0)
    return descriptor


def in_use(folder: Path) -> bool:
    """Whether a live process holds ``folder`` now (a study's other worker running that job)."""
    try:
        descriptor = os.open(folder / LOCK_FILE, os.O_RDONLY)
    except OSError:
        return False
    try:
        fcntl.flock(descriptor, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(descriptor)
    return False


def release(descriptor: int | None) -> None:
    if descriptor is not None:
        os.close(descriptor)  # closing the descriptor drops the lock; the file stays, harmless


def configured_folder(config: DictConfig, key: str) -> Path | None:
    """``hydra.run.dir`` / ``hydra.sweep.dir`` as Hydra will resolve it (``now`` and ``unique`` are cached on
    the config, so the folder Hydra creates is this one); None when it needs Hydra's runtime to resolve."""
    try:
        value = OmegaConf.select(config, key)
    except Exception:  # an interpolation only Hydra's runtime can resolve: Hydra reports it itself
        return None
    return Path(str(value)).absolute() if value else None


class RunFolderRefused(BaseException):  # noqa: N818  (a refusal, not an error)
    """A ``RunFolderError`` carried out of a Hydra callback: Hydra turns a callback's ``Exception`` into a
    warning and goes on to configure logging in the folder, so the refusal travels as a ``BaseException``
    to ``src.run.cli.hydra_cli``, which prints it in one line and exits 2."""

    def __init__(self, error: RunFolderError) -> None:
        super().__init__(str(error))
        self.error = error


def refusing(check: Any, folder: Path) -> Any:
    try:
        return check(folder)
    except RunFolderError as error:
        raise RunFolderRefused(error) from error


class RunFolderGuard(Callback):
    def __init__(self) -> None:
        self.descriptor: int | None = None

    def on_run_start(self, config: DictConfig, **kwargs: Any) -> None:
        folder = configured_folder(config, "hydra.run.dir")
        if folder is not None:
            self.descriptor = refusing(claim, folder)

    def on_run_end(self, config: DictConfig, **kwargs: Any) -> None:
        release(self.descriptor)
        self.descriptor = None

    def on_multirun_start(self, config: DictConfig, **kwargs: Any) -> None:
        folder = configured_folder(config, "hydra.sweep.dir")
        if folder is not None:
            refusing(require_writable, folder)


@contextmanager
def claimed(folder: Path) -> Iterator[None]:
    descriptor = claim(folder)
    try:
        yield
    finally:
        release(descriptor)
