"""The merge check on a 4-/8-bit backbone: the quantized weights cannot take an update, so the model is tested
as trained (adapters beside the quantized layers) and, when ``callbacks.merge.dequantize`` names a dtype, a
merged copy in that dtype (the adapted layers dequantized with their update folded in) is built and compared
with it on a real batch."""

from __future__ import annotations

import copy
from typing import Any

import torch
from torch import nn

from src.adapters import AdapterError, adapters_of, merge_and_unload

DEQUANTIZE_DTYPES = {"float32": torch.float32, "bfloat16": torch.bfloat16, "float16": torch.float16}


def dequantize_dtype(name: str | None) -> torch.dtype | None:
    """The dtype ``callbacks.merge.dequantize`` names (its choices are checked with the config)."""
    return None if name is None else DEQUANTIZE_DTYPES[name]


def on_quantized_base(model: nn.Module) -> bool:
    """Whether some mergeable adapter sits on a layer whose weight is 4-/8-bit."""
    return any(a.mergeable and not a.merges_in_place for a in adapters_of(model))


def quantized_merge_section(
    model: nn.Module, logits, batch: dict, source: str, dtype: torch.dtype | None, tolerance: float
) -> dict[str, Any]:
    """``results.json["merge"]`` on a quantized base: refused (with why), or the dequantized copy's logit
    difference from the unmerged model (``max_abs_diff``, against ``tolerance``)."""
    section: dict[str, Any] = {"batch": source, "tolerance": tolerance, "merged_adapters": 0}
    if dtype is None:
        first = next(a for a in adapters_of(model) if a.mergeable and not a.merges_in_place)
        try:
            first.refuse_quantized_host()
        except AdapterError as refusal:
            return {**section, "status": "refused", "reason": str(refusal)}
    before = logits(model, batch)
    merged = merge_and_unload(copy.deepcopy(model), dequantize=dtype)
    after = logits(merged, batch)
    return {
        **section,
        "status": "dequantized_copy",
        "dequantize": str(dtype).removeprefix("torch."),
        "merged_adapters": sum(a.mergeable for a in adapters_of(model)),
        "max_abs_diff": (after - before).abs().max().item(),
        "predictions_agree": bool(torch.equal(after.argmax(-1), before.argmax(-1))),
    }
