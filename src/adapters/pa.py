"""Parallel adapter (He et al.): ``FFN(x) + s * up(ReLU(down(x)))`` parallel to each FFN block.
Down Kaiming-uniform, up and biases zero, so the model starts as the base model."""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import nn

from src.fields import setting

from ._blocks import activation, block_sites, bottleneck_size, check_activation, check_placement
from .base import Adapter
from .placement import Placement, install_parallel
from .registry import MethodConfig, register


class ParallelAdapter(Adapter):
    method = "pa"
    mergeable = False

    def __init__(self, width: int, bottleneck: int, scale: float, activation_name: str = "relu") -> None:
        super().__init__()
        self.scale = scale
        self.down = nn.Linear(width, bottleneck)
        self.up = nn.Linear(bottleneck, width)
        self.act = activation(activation_name)
        nn.init.kaiming_uniform_(self.down.weight, a=math.sqrt(5))
        for tensor in (self.down.bias, self.up.weight, self.up.bias):
            nn.init.zeros_(tensor)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.up(self.act(self.down(x))) * self.scale


@dataclass
class ParallelAdapterConfig(MethodConfig):
    bottleneck: int | None = setting(None, ge=1)  # null: hidden / reduction_factor
    reduction_factor: float | None = setting(16, gt=0)
    scale: float = 4.0
    activation: str = "relu"
    placement: str = "ffn"

    def validate(self) -> None:
        check_activation(self.activation)
        check_placement(self.placement)


@register("pa", ParallelAdapterConfig, starts_as="base")
def apply(model: nn.Module, cfg: ParallelAdapterConfig, placement: Placement) -> list[Adapter]:
    """Parallel adapter: s * up(ReLU(down(x))) parallel to each FFN block; starts as the base model."""
    return [
        install_parallel(
            model,
            site,
            ParallelAdapter(site.width, bottleneck_size(site.width, cfg.bottleneck, cfg.reduction_factor), cfg.scale, cfg.activation),
        )
        for site in block_sites(placement, cfg.placement)
    ]
