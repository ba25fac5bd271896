"""Parallel adapter (He et al.) as adapter-hub's ``ParBnConfig`` defines it: ``s * up(ReLU(down(x)))`` reads each
FFN block's input x and adds to the FFN branch after its dropout, before the residual add and norm:
``N(x + D(FFN(x)) + s * f(x))``, s = 4. Down Kaiming-uniform, up and biases zero (adapter-hub's "mam_adapter"
init), so the model starts as the base model. ``adapter.wiring=projection`` adds before the dropout (kronlab before
issue 23; the same function in eval mode)."""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import nn

from src.fields import setting

from ..core.blocks import activation, block_sites, bottleneck_size, check_activation, check_placement
from ..core.placement import Placement
from ..core.protocol import Adapter
from ..core.registry import MethodConfig, register
from ..core.wiring import PARALLEL_WIRINGS, install_parallel_adapter


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
    wiring: str = setting("branch", choices=PARALLEL_WIRINGS)  # src/adapters/_wiring.py

    def validate(self) -> None:
        check_activation(self.activation)
        check_placement(self.placement)


@register("pa", ParallelAdapterConfig, starts_as="base", search={"adapter.scale": "choice(4.0, 16.0)"})
def apply(model: nn.Module, cfg: ParallelAdapterConfig, placement: Placement) -> list[Adapter]:
    """Parallel adapter (adapter-hub ParBnConfig): s * up(ReLU(down(x))) parallel to each FFN block; starts as the base."""
    return [
        install_parallel_adapter(
            model,
            site,
            ParallelAdapter(
                site.width,
                bottleneck_size(site.width, cfg.bottleneck, cfg.reduction_factor),
                cfg.scale,
                cfg.activation,
            ),
            cfg.wiring,
        )
        for site in block_sites(placement, cfg.placement)
    ]
