"""What an exception that stopped a run means for its record: refused or failed, and why."""

from __future__ import annotations

from lightning.pytorch.utilities.exceptions import SIGTERMException

from src.errors import DiskFullError, NumericsError, UserError, refused_before_training

from .schema import Failure, FailureReason, Status


def outcome_of(error: BaseException) -> tuple[Status, Failure]:
    status = Status.REFUSED if refused_before_training(error) else Status.FAILED
    if isinstance(error, SIGTERMException) or isinstance(error.__context__, SIGTERMException):
        reason = FailureReason.PREEMPTED  # the second: the launcher's requeue handler exiting during the stop
    elif isinstance(error, DiskFullError):
        reason = FailureReason.DISK_FULL
    elif isinstance(error, NumericsError):
        reason = FailureReason.DIVERGED
    elif isinstance(error, UserError):
        reason = FailureReason.USER_ERROR
    else:
        reason = FailureReason.EXCEPTION
    return status, Failure(reason, type(error).__name__, str(error))
