"""Adapter-sized Lightning checkpoints: the frozen backbone is left out and taken from config on load.

A checkpoint keeps what training changes (trainable parameters, buffers, optimiser, scheduler, loop
and callback state) and, under ``frozen_backbone``, the shape and two checksums of every frozen
parameter it left out. Loading fills those in from the model built from config, after checking
that the checkpoint's tensors are exactly this model's minus its frozen parameters, with the same
shapes, and that the frozen parameters are the ones it was trained on. A checkpoint without
``frozen_backbone`` (full fine-tuning, or one saved before this format) holds everything and loads
as it is, with the same key and shape checks.
"""

from __future__ import annotations

import math
from typing import Any

import torch
from torch import nn

from src.errors import ConfigError

FROZEN_KEY = "frozen_backbone"
SAME_RUN_HINT = "evaluate it with the config of the run that wrote it (python -m src.eval ckpt_path=<file>)"


class CheckpointError(ConfigError):
    """A checkpoint that does not fit the model built from config; the message says what differs."""


def frozen_parameter_names(module: nn.Module) -> list[str]:
    """State-dict names of the parameters that do not train (tied ones under each of their names)."""
    return [name for name, p in module.named_parameters(remove_duplicate=False) if not p.requires_grad]


def fingerprint(tensor: torch.Tensor) -> list[Any]:
    """Shape, sum and norm (float64): enough to tell another model's weights from these (a 4-/8-bit weight's
    by its stored integers)."""
    detached = tensor.detach()
    if not (detached.is_floating_point() or detached.is_complex()):
        detached = detached.double()
    return [
        list(detached.shape),
        detached.sum(dtype=torch.float64).item(),
        torch.linalg.vector_norm(detached, dtype=torch.float64).item(),
    ]


def frozen_fingerprints(module: nn.Module) -> dict[str, list[Any]]:
    params = dict(module.named_parameters(remove_duplicate=False))
    return {name: fingerprint(params[name]) for name in frozen_parameter_names(module)}


INT8_STATE = ("SCB", "weight_format")  # what bitsandbytes' Linear8bitLt writes beside its weight


def quantization_state(state: dict[str, Any], frozen: Any) -> list[str]:
    """Entries a 4-/8-bit layer writes beside its frozen weight (bitsandbytes' quantization state: 4-bit
    ``<weight>.absmax``, ``<weight>.quant_map``, ...; 8-bit ``<layer>.SCB``, ``<layer>.weight_format``). They follow
    from the weight, and bitsandbytes' layers do not take them back in a strict load."""
    frozen = set(frozen)
    prefixes = tuple(f"{name}." for name in frozen)
    return [
        key
        for key in state
        if (prefixes and key.startswith(prefixes))
        or (key.rpartition(".")[2] in INT8_STATE and f"{key.rpartition('.')[0]}.weight" in frozen)
    ]


def drop_frozen(checkpoint: dict[str, Any], fingerprints: dict[str, list[Any]]) -> None:
    """Remove the frozen parameters (and their quantization state) from ``checkpoint['state_dict']``; full
    fine-tuning keeps everything."""
    if not fingerprints:
        return
    state = checkpoint["state_dict"]
    for name in [*fingerprints, *quantization_state(state, fingerprints)]:
        state.pop(name, None)
    checkpoint[FROZEN_KEY] = fingerprints


def _first(names: set[str] | list[str], limit: int = 3) -> str:
    return ", ".join(sorted(names)[:limit]) + (" ..." if len(names) > limit else "")


def _differs(saved: list[Any], now: list[Any]) -> bool:
    _, saved_sum, saved_norm = saved
    _, sum_now, norm_now = now
    scale = max(saved_norm, norm_now, 1e-30)
    return not (math.isclose(saved_norm, norm_now, rel_tol=1e-6) and abs(saved_sum - sum_now) <= 1e-6 * scale)


def check_and_fill_frozen(
    module: nn.Module, checkpoint: dict[str, Any], source: str = "the checkpoint"
) -> None:
    """Refuse a checkpoint of another model; put this model's frozen parameters into it, so a strict load works."""
    state = checkpoint["state_dict"]
    own = module.state_dict()
    for key in quantization_state(own, frozen_parameter_names(module)):
        own.pop(key)
    saved_frozen: dict[str, list[Any]] = checkpoint.get(FROZEN_KEY) or {}
    unexpected = set(state) - set(own)
    if unexpected:
        raise CheckpointError(
            f"{source} holds {len(unexpected)} tensors this model lacks ({_first(unexpected)}): it was saved with "
            f"another backbone or adapter; {SAME_RUN_HINT}."
        )
    not_stored = set(own) - set(state)
    missing = not_stored - (set(saved_frozen) & set(frozen_parameter_names(module)))
    if missing:
        raise CheckpointError(
            f"{source} lacks {len(missing)} tensors this model needs and cannot take from its frozen backbone "
            f"({_first(missing)}): it was saved with another adapter configuration; {SAME_RUN_HINT}."
        )
    for name, tensor in state.items():
        if tuple(tensor.shape) != tuple(own[name].shape):
            raise CheckpointError(
                f"{source} has {name} of shape {tuple(tensor.shape)}, this model {tuple(own[name].shape)}: it was saved "
                f"with another backbone or adapter shape; {SAME_RUN_HINT}."
            )
    for name in sorted(not_stored):
        now = fingerprint(own[name])
        if now[0] != saved_frozen[name][0] or _differs(saved_frozen[name], now):
            raise CheckpointError(
                f"{source} was trained on another frozen backbone: {name} differs from the one built from config "
                "(another backbone.pretrained, or backbone.init=random with another seed). Use the run's own backbone "
                "settings and seed."
            )
        state[name] = own[name]
