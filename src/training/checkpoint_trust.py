"""A checkpoint is checked before a run resumes from it: a truncated or corrupted file is never trusted.

A Lightning checkpoint is a zip archive whose every record carries a CRC-32 (``torch.save`` writes them);
``torch.load`` does not check them, so a flipped byte in a tensor would load silently. ``zipfile``'s
``testzip`` reads every record against its CRC, and a truncated file has no central directory at all.
A corrupt ``last.ckpt`` is moved aside (kept, renamed) and the run resumes from the newest other checkpoint
of the run that passes; with none, the run is refused in one line: it never starts over while saying it
resumed.
"""

from __future__ import annotations

import logging
import time
import zipfile
from pathlib import Path

import torch

from src.errors import UserError

log = logging.getLogger(__name__)


class CheckpointError(UserError):
    """A checkpoint to resume or evaluate from that is truncated or corrupt, with no good one to fall back to."""


def damage(path: Path) -> str | None:
    """Why ``path`` cannot be trusted (truncated, a record failing its CRC, not a checkpoint), or None."""
    try:
        with zipfile.ZipFile(path) as archive:
            bad = archive.testzip()
    except (OSError, zipfile.BadZipFile, EOFError) as error:
        return f"truncated or not a checkpoint ({error})"
    if bad is not None:
        return f"record {bad} fails its CRC check (corrupted)"
    try:
        checkpoint = torch.load(path, map_location="cpu", weights_only=True, mmap=True)
    except Exception as error:  # a readable zip that is not a Lightning checkpoint
        return f"cannot be loaded ({type(error).__name__}: {str(error).splitlines()[0]})"
    if not {"state_dict", "global_step", "loops"} <= set(checkpoint):
        return "not a resumable Lightning checkpoint (no state_dict, global_step or loops)"
    return None


def require_intact(path: Path) -> Path:
    """``path`` if it passes; else a one-line refusal (a checkpoint the user named is not replaced)."""
    problem = damage(path)
    if problem:
        raise CheckpointError(
            f"{path} is {problem}: pass another checkpoint (ckpt_path=...), or omit ckpt_path to train from scratch."
        )
    return path


def trusted_resume_point(last: Path) -> Path:
    """``last`` if it passes; else the newest other checkpoint beside it that passes, after moving ``last`` aside."""
    problem = damage(last)
    if problem is None:
        return last
    kept = last.with_name(f"{last.name}.corrupt-{time.strftime('%Y%m%d-%H%M%S')}")
    last.rename(kept)  # ModelCheckpoint writes a fresh last.ckpt; the bad one stays for whoever asks why
    others = sorted(
        (p for p in last.parent.glob("*.ckpt") if p != last), key=lambda p: p.stat().st_mtime, reverse=True
    )
    for candidate in others:
        if damage(candidate) is None:
            log.warning(
                "%s is %s (kept as %s): resuming from %s instead", last, problem, kept.name, candidate.name
            )
            return candidate
    raise CheckpointError(
        f"{last} is {problem} (kept as {kept.name}) and no other checkpoint in {last.parent} passes: the same command "
        "now trains from scratch, or pass ckpt_path=<a good .ckpt> to resume from another."
    )
