"""Inference latency (SPEC section 5): eval mode, no grad, batch 1, length 10, mergeable adapters merged,
compared with the same backbone with its adapters disabled. Base and adapted alternate within every
repeat so that machine noise hits both.

Two protocols: ``paper`` (the KronA paper's: 150 warm-up + 200 timed forwards, 3 repeats) and ``quick``
(10 + 20, 5 repeats: about 7x fewer forwards, for measuring inside every training run); the result says
which one produced it, and the spread of the per-repeat ratios beside their mean."""

from __future__ import annotations

import contextlib
import statistics
from dataclasses import asdict, dataclass
from typing import Any, Literal

import lightning as L
import torch
from torch.utils.benchmark import Timer

from src.adapters import adapters_of, disabled
from src.adapters.core.functions import merge_atomically
from src.backbones import Backbone

from .section import StandaloneMeasure

PROTOCOLS = {
    "paper": {"warmup": 150, "iters": 200, "repeats": 3},
    "quick": {"warmup": 10, "iters": 20, "repeats": 5},
}


@dataclass(frozen=True)
class LatencySettings:
    batch_size: int = 1
    seq_len: int = 10
    warmup: int = 150
    iters: int = 200
    repeats: int = 3
    merge: bool = True

    @classmethod
    def of_protocol(cls, protocol: str, **changes: Any) -> LatencySettings:
        """A named protocol's counts, with the given changes (None: the protocol's value)."""
        if protocol not in PROTOCOLS:
            raise ValueError(f"callbacks.latency.protocol={protocol!r}: use one of {sorted(PROTOCOLS)}.")
        return cls(**{**PROTOCOLS[protocol], **{k: v for k, v in changes.items() if v is not None}})

    @property
    def protocol(self) -> str:
        """``paper`` or ``quick`` when the counts are that protocol's, else ``custom``."""
        counts = {"warmup": self.warmup, "iters": self.iters, "repeats": self.repeats}
        shape = (self.batch_size, self.seq_len) == (1, 10)
        return next((name for name, known in PROTOCOLS.items() if shape and known == counts), "custom")

    def __post_init__(self) -> None:
        for name in ("batch_size", "seq_len", "iters", "repeats"):
            if getattr(self, name) < 1:
                raise ValueError(f"callbacks.latency.{name}={getattr(self, name)}: must be at least 1.")
        if self.warmup < 0:
            raise ValueError(f"callbacks.latency.warmup={self.warmup}: must be 0 or more.")


def resolve_device(device: str) -> torch.device:
    if device == "auto":
        return torch.accelerator.current_accelerator() or torch.device("cpu")
    return torch.device(device)


@contextlib.contextmanager
def merged_for_timing(model: torch.nn.Module, merge: bool):
    """Merge what can merge for the duration (unmerging afterwards only what was merged here);
    yields the methods that still run unmerged."""
    newly = [a for a in adapters_of(model) if a.merges_in_place and not a.merged] if merge else []
    merge_atomically(newly)  # a 4-/8-bit host cannot take the update: that adapter is timed unmerged
    try:
        yield sorted({a.method for a in adapters_of(model) if not a.merged})
    finally:
        for adapter in newly:
            adapter.unmerge()


def measure_latency(backbone: Backbone, settings: LatencySettings, device: torch.device) -> dict[str, Any]:
    """Milliseconds per forward pass for the adapted model and for the bare backbone, and their ratio."""
    model = backbone.model
    was_training = model.training
    model.eval()
    fork_devices = [device] if device.type == "cuda" else []
    with torch.inference_mode(False), torch.no_grad(), torch.random.fork_rng(devices=fork_devices):
        inputs = backbone.dummy_inputs(settings.batch_size, settings.seq_len, device)

        def forward() -> None:
            model(**inputs)

        # Timer synchronises the accelerator before reading the clock; keep torch's thread count.
        timer = Timer(stmt="forward()", globals={"forward": forward}, num_threads=torch.get_num_threads())

        def time_ms() -> float:
            if settings.warmup:
                timer.timeit(settings.warmup)
            return timer.timeit(settings.iters).mean * 1e3

        adapted, base = [], []
        try:
            with merged_for_timing(model, settings.merge) as not_merged:
                for repeat in range(settings.repeats):
                    for variant in ("base", "adapted") if repeat % 2 == 0 else ("adapted", "base"):
                        if variant == "base":
                            with disabled(model):
                                base.append(time_ms())
                        else:
                            adapted.append(time_ms())
        finally:
            model.train(was_training)
    ms, base_ms = statistics.fmean(adapted), statistics.fmean(base)
    ratios = [a / b for a, b in zip(adapted, base, strict=True)]
    return {
        "protocol": settings.protocol,
        "ms": ms,
        "base_ms": base_ms,
        "ratio": ms / base_ms,
        "ratio_min": min(ratios),  # the spread of the per-repeat ratios (adapted / base within one repeat)
        "ratio_max": max(ratios),
        "ms_per_repeat": adapted,
        "base_ms_per_repeat": base,
        "merged": not not_merged,
        "not_merged": not_merged,
        "device": str(device),
        "threads": torch.get_num_threads(),
        "settings": asdict(settings),
    }


class LatencyCallback(StandaloneMeasure):
    """``results.json["latency"]``: measured once, after training (or after testing when there is no fit)."""

    section = "latency"

    def __init__(
        self,
        enabled: bool = True,
        protocol: Literal["quick", "paper"] = "quick",
        batch_size: int = 1,
        seq_len: int = 10,
        warmup: int | None = None,
        iters: int | None = None,
        repeats: int | None = None,
        merge: bool = True,
        device: str = "auto",
    ) -> None:
        super().__init__(enabled)
        self.settings = LatencySettings.of_protocol(
            protocol,
            batch_size=batch_size,
            seq_len=seq_len,
            warmup=warmup,
            iters=iters,
            repeats=repeats,
            merge=merge,
        )
        self.device = device
        self._done = False

    def measure(self, backbone: Backbone) -> dict[str, Any]:
        """Without a Trainer: move the model to ``device`` ("auto": the accelerator if any) and measure."""
        device = resolve_device(self.device)
        backbone.to(device)
        return measure_latency(backbone, self.settings, device)

    def _measure_once(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if not self.enabled or self._done:
            return
        self._done = True
        self.publish(trainer, pl_module, measure_latency(pl_module.backbone, self.settings, pl_module.device))

    def on_fit_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self._measure_once(trainer, pl_module)

    def on_test_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self._measure_once(trainer, pl_module)
