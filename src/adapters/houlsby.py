"""Houlsby adapters: a sequential bottleneck ``h + up(act(down(h)))`` after the attention output and after
the FFN output of every layer, before the residual and layer norm. Near-identity init (small weights)."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from src.fields import setting

from ._blocks import activation, block_sites, bottleneck_size, check_activation, check_placement
from .base import Adapter
from .placement import Placement, install_sequential
from .registry import MethodConfig, register

NEAR_IDENTITY_STD = 1e-2  # Houlsby et al.: weights near zero so each adapter starts near the identity


class BottleneckAdapter(Adapter):
    """``h + up(act(down(h)))``; ``down`` and ``up`` are any modules (Linear here, PHM in Compacter)."""

    method = "houlsby"
    mergeable = False

    def __init__(self, down: nn.Module, up: nn.Module, activation_name: str) -> None:
        super().__init__()
        self.down = down
        self.up = up
        self.act = activation(activation_name)

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        return h + self.up(self.act(self.down(h)))


def near_identity_linear(d_in: int, d_out: int) -> nn.Linear:
    linear = nn.Linear(d_in, d_out)
    nn.init.normal_(linear.weight, std=NEAR_IDENTITY_STD)
    nn.init.zeros_(linear.bias)
    return linear


@dataclass
class BottleneckConfig(MethodConfig):
    bottleneck: int | None = setting(None, ge=1)  # null: hidden / reduction_factor
    reduction_factor: float | None = setting(16, gt=0)
    activation: str = "relu"
    placement: str = "ffn_attention"

    def validate(self) -> None:
        check_activation(self.activation)
        check_placement(self.placement)


class HoulsbyAdapter(BottleneckAdapter):
    method = "houlsby"


def install_bottlenecks(
    model: nn.Module, cfg: BottleneckConfig, placement: Placement, adapter_type: type[BottleneckAdapter]
) -> list[Adapter]:
    adapters = []
    for site in block_sites(placement, cfg.placement):
        size = bottleneck_size(site.width, cfg.bottleneck, cfg.reduction_factor)
        down, up = near_identity_linear(site.width, size), near_identity_linear(size, site.width)
        adapters.append(install_sequential(model, site, adapter_type(down, up, cfg.activation)))
    return adapters


@register("houlsby", BottleneckConfig, starts_as="near_base")
def apply(model: nn.Module, cfg: BottleneckConfig, placement: Placement) -> list[Adapter]:
    """Houlsby: sequential bottleneck after each attention output and each FFN output; near-identity init."""
    return install_bottlenecks(model, cfg, placement, HoulsbyAdapter)
