"""Preemption: a scheduler's stop signal ends the run at the next step boundary with a resumable last.ckpt.

SLURM sends SIGTERM (or the job's ``--signal``, often SIGUSR1; submitit's is SIGUSR2) some seconds before it
kills a job. Lightning already turns SIGTERM into a stop at the end of the current training step
(``SIGTERMException``); this callback routes the other signals there too, so that every one of them stops
at a step boundary, where a checkpoint resumes exactly, and saves ``last.ckpt`` there. A signal that lands
during validation stops right after that validation (a checkpoint taken in the middle of one would skip the
rest of it on resume). Then the signal is handed to whoever had it before training started: submitit's
handler requeues the job (a local executor restarts it at once), Lightning's SLURM handler calls
``scontrol requeue``. With no such handler the run exits with 128 + the signal's number; the same command
resumes it, and so does a study's next invocation.
"""

from __future__ import annotations

import logging
import signal
from pathlib import Path
from types import FrameType
from typing import Any

import lightning as L
from lightning.pytorch.callbacks import ModelCheckpoint
from lightning.pytorch.utilities.exceptions import SIGTERMException

log = logging.getLogger(__name__)
Handler = Any  # what signal.getsignal returns


class Preemption(L.Callback):
    def __init__(self, signals: list[str] | tuple[str, ...] = ("SIGTERM", "SIGUSR1", "SIGUSR2")) -> None:
        self.signals = [signal.Signals[name] for name in signals]
        self.received: signal.Signals | None = None
        self.stop: Handler = None
        self.before: dict[signal.Signals, Handler] = {}
        self.trainer: L.Trainer | None = None

    def on_train_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        # Lightning registers its handlers (SIGTERM sets trainer.received_sigterm) after on_fit_start
        self.trainer, self.received = trainer, None
        self.stop = signal.getsignal(signal.SIGTERM)
        for number in self.signals:
            if number != signal.SIGTERM:
                self.before[number] = signal.getsignal(number)
            signal.signal(number, self.on_signal)

    def on_signal(self, number: int, frame: FrameType | None) -> None:
        self.received = signal.Signals(number)
        log.warning("%s received: stopping at the end of this step", self.received.name)
        if not self.in_validation():
            self.ask_lightning_to_stop(frame)

    def in_validation(self) -> bool:
        return self.trainer is not None and (self.trainer.validating or self.trainer.sanity_checking)

    def ask_lightning_to_stop(self, frame: FrameType | None) -> None:
        if callable(self.stop):
            self.stop(signal.SIGTERM, frame)

    def on_validation_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if self.received is not None and not trainer.sanity_checking:
            self.ask_lightning_to_stop(None)

    def on_exception(
        self, trainer: L.Trainer, pl_module: L.LightningModule, exception: BaseException
    ) -> None:
        if self.received is None or not isinstance(exception, SIGTERMException):
            return
        path = last_checkpoint_path(trainer)
        if path is not None:
            trainer.save_checkpoint(path)
        where = (
            f"{path} holds step {trainer.global_step}" if path else "no checkpoint callback: nothing saved"
        )
        exception.signal = self.received
        exception.args = (f"stopped by {self.received.name} at step {trainer.global_step}; {where}",)
        log.warning("%s", exception.args[0])
        before = self.before.get(self.received)
        if callable(before):  # the launcher's: requeue (submitit exits here)
            before(self.received, None)

    def teardown(self, trainer: L.Trainer, pl_module: L.LightningModule, stage: str) -> None:
        for number, handler in self.before.items():
            if handler is not None:
                signal.signal(number, handler)
        self.before, self.trainer = {}, None


def last_checkpoint_path(trainer: L.Trainer) -> Path | None:
    """The ``last.ckpt`` the run's ModelCheckpoint keeps, which ``ckpt_path=last`` resumes from."""
    for callback in trainer.checkpoint_callbacks:
        if isinstance(callback, ModelCheckpoint) and callback.save_last and callback.dirpath:
            return Path(callback.dirpath) / f"{callback.CHECKPOINT_NAME_LAST}{callback.FILE_EXTENSION}"
    return None
