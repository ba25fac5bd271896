"""BitFit: train only the bias terms (and the head). Linear layers without a bias (all of T5's) get a
zero-initialised bias added as an adapter, so T5 has bias terms to train."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from ..core.placement import Placement, Site, install_parallel
from ..core.protocol import Adapter
from ..core.registry import MethodConfig, register


class AddedBias(Adapter):
    method = "bitfit"
    mergeable = False  # the host Linear has no bias tensor to fold it into

    def __init__(self, width: int) -> None:
        super().__init__()
        self.bias = nn.Parameter(torch.zeros(width))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.bias  # broadcast onto the host's output


@dataclass
class BitFitConfig(MethodConfig):
    trains_biases: bool = True
    add_missing_biases: bool = True


@register("bitfit", BitFitConfig, starts_as="base")
def apply(model: nn.Module, cfg: BitFitConfig, placement: Placement) -> list[Adapter]:
    """BitFit: bias terms only (+ head); zero biases added where a linear layer has none (T5)."""
    if not cfg.add_missing_biases:
        return []
    bare = [
        (name, module)
        for name, module in model.named_modules()
        if isinstance(module, nn.Linear)
        and module.bias is None
        and not any(name.startswith(prefix) for prefix in placement.head_prefixes)
        and not name.endswith("lm_head")
    ]
    return [
        install_parallel(model, Site(name, name, m.out_features), AddedBias(m.out_features))
        for name, m in bare
    ]
