"""Pfeiffer adapter: one sequential bottleneck ``h + up(act(down(h)))`` after each FFN output only."""

from __future__ import annotations

from dataclasses import dataclass

from torch import nn

from .base import Adapter
from .houlsby import BottleneckAdapter, BottleneckConfig, install_bottlenecks
from .placement import Placement
from .registry import register


class PfeifferAdapter(BottleneckAdapter):
    method = "pfeiffer"


@dataclass
class PfeifferConfig(BottleneckConfig):
    placement: str = "ffn"


@register("pfeiffer", PfeifferConfig, starts_as="near_base")
def apply(model: nn.Module, cfg: PfeifferConfig, placement: Placement) -> list[Adapter]:
    """Pfeiffer: one sequential bottleneck after each FFN output; near-identity init."""
    return install_bottlenecks(model, cfg, placement, PfeifferAdapter)
