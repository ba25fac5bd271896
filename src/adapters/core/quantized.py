"""Linear layers whose weight bitsandbytes holds in 4 or 8 bits (``Linear4bit``, ``Linear8bitLt``): how to
recognise one, what it stands for in float, and the one-line refusals for what cannot be done to it.

Recognised by the weight's class name, so this package imports bitsandbytes only when it dequantizes.
An update is never added to such a weight: 4 bits (or 8) would round it away, so weight-parallel adapters
add theirs beside the layer's output (bypass) and a merge goes into a dequantized copy (``dequantized_linear``).
"""

from __future__ import annotations

import torch
from torch import nn

QUANTIZED_WEIGHTS = {"Params4bit": "4-bit", "Int8Params": "8-bit"}


def quantization_of(module: nn.Module) -> str | None:
    """``4-bit`` or ``8-bit`` when ``module`` holds a bitsandbytes-quantized weight, else None."""
    return QUANTIZED_WEIGHTS.get(type(getattr(module, "weight", None)).__name__)


def is_quantized(module: nn.Module) -> bool:
    return quantization_of(module) is not None


def has_quantized_layers(model: nn.Module) -> bool:
    return any(is_quantized(m) for m in model.modules())


def parameter_count(param: torch.Tensor) -> int:
    """How many weights ``param`` stands for: a 4-bit weight stores two in each byte (its ``numel`` is half)."""
    state = getattr(param, "quant_state", None) if type(param).__name__ == "Params4bit" else None
    return state.shape.numel() if state is not None else param.numel()


def dequantized_weight(module: nn.Module) -> torch.Tensor:
    """The float weight a quantized layer computes with (bitsandbytes' dequantization, through transformers'
    helper); a plain layer's own weight."""
    if not is_quantized(module):
        return module.weight
    from transformers.integrations.bitsandbytes import dequantize_bnb_weight

    return dequantize_bnb_weight(module.weight, getattr(module, "state", None))


def dequantized_linear(
    module: nn.Module,
    dtype: torch.dtype,
    delta: torch.Tensor | None = None,
    bias_delta: torch.Tensor | None = None,
) -> nn.Linear:
    """A plain ``nn.Linear`` in ``dtype`` holding the layer's dequantized weight and its bias, plus ``delta`` and
    ``bias_delta`` (a merged update), added in float32 before the cast."""
    weight = dequantized_weight(module).detach().float()
    if delta is not None:
        weight = weight + delta.detach().float()
    linear = nn.Linear(module.in_features, module.out_features, bias=module.bias is not None)
    linear.to(device=weight.device, dtype=dtype)
    with torch.no_grad():
        linear.weight.copy_(weight)
        if module.bias is not None:
            bias = module.bias.detach().float()
            linear.bias.copy_(bias if bias_delta is None else bias + bias_delta.detach().float())
    return linear.requires_grad_(False)


def merge_refusal(method: str, host_name: str, host: nn.Module) -> str:
    """Why ``method`` cannot merge into the quantized layer ``host_name``, and what to do instead."""
    return (
        f"cannot merge {method} into {host_name}: its weight is {quantization_of(host)} (bitsandbytes), which "
        "cannot hold the update (it would be rounded away); keep the adapters unmerged, or merge into a dequantized "
        "copy: merge_and_unload(model, dequantize=torch.float32) (callbacks.merge.dequantize=float32 in a run)."
    )
