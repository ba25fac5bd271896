"""Older results.json layouts, brought to the current one: the one place that knows what they lacked.

- layout 0 (unversioned, no ``status``; 2026-11-22 to 11-30): a run with ``error`` failed, any other finished;
  the first of them also lack the latency protocol and spread, the step-time quartiles, the evaluated
  checkpoint and the prediction section.
- layout 1 (unversioned, with ``status``): ``error`` has no reason.
- layout 2: ``schema_version: 2``, the reason beside each error.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

from .schema import SCHEMA_VERSION, FailureReason, Status

Raw = dict[str, Any]
# What the latency callback ran before its protocols had names: the KronA paper's counts (SPEC section 5).
PAPER_LATENCY = {"batch_size": 1, "seq_len": 10, "warmup": 150, "iters": 200, "repeats": 3}


def layout_of(raw: Raw) -> int:
    if "schema_version" in raw:
        return raw["schema_version"]
    return 1 if "status" in raw else 0


def migrate(raw: Raw) -> Raw:
    """``raw`` in the current layout (a copy; a file of the current layout comes back equal)."""
    raw = copy.deepcopy(raw)
    version = layout_of(raw)
    if version > SCHEMA_VERSION:
        raise ValueError(
            f"results.json of schema_version {version}, newer than this kronlab's {SCHEMA_VERSION}: update kronlab."
        )
    for step in STEPS[version:]:
        raw = step(raw)
    return raw


def status_from_error(raw: Raw) -> Raw:
    """Layout 0 -> 1: ``status`` from whether it failed, and the section fields added since."""
    raw["status"] = Status.FAILED.value if raw.get("error") else Status.FINISHED.value
    if raw.get("error"):  # failed or refused was not told apart then
        raw["error"]["reason"] = failure_reason(raw["error"], FailureReason.UNRECORDED).value
    latency = raw.get("latency")
    if latency:
        latency.setdefault("ratio_min", latency["ratio"])
        latency.setdefault("ratio_max", latency["ratio"])
        if "protocol" not in latency:
            counts = {k: latency["settings"].get(k) for k in PAPER_LATENCY}
            latency["protocol"] = "paper" if counts == PAPER_LATENCY else "custom"
    speed = raw.get("train_speed")
    if speed:
        speed.setdefault("step_ms_p25", speed["step_ms"])
        speed.setdefault("step_ms_p75", speed["step_ms"])
    params = raw.get("params")
    if params and "trainable_without_head" not in params:
        params["trainable_without_head"] = params["trainable"] - params.get("head", 0)
    if "best_checkpoint" in raw:
        raw.setdefault("evaluated_checkpoint", raw["best_checkpoint"])
    return raw


def reason_of_error(raw: Raw) -> Raw:
    """Layout 1 -> 2: the reason of each error, from what layout 1 recorded (its status and type)."""
    error = raw.get("error")
    if error and "reason" not in error:
        otherwise = FailureReason.USER_ERROR if raw["status"] == Status.REFUSED else FailureReason.EXCEPTION
        error["reason"] = failure_reason(error, otherwise).value
    raw["schema_version"] = 2
    return raw


def failure_reason(error: Raw, otherwise: FailureReason) -> FailureReason:
    return FailureReason.DIVERGED if error.get("type") == "NumericsError" else otherwise


STEPS: list[Callable[[Raw], Raw]] = [status_from_error, reason_of_error]
