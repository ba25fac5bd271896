"""Pfeiffer adapter as adapter-hub's ``SeqBnConfig`` defines it (and the AdaKron authors' ``modeling_bert.py``):
one ReLU bottleneck per layer at the FFN block, reading the block's normalised output, its residual taken before
the norm and the layer's own norm applied again: with r = x + D(h), ``out = N(r + up(ReLU(down(N(r)))))``.
Weights N(0, 0.02), biases zero. ``adapter.wiring=projection adapter.activation=relu adapter.init=near_identity``
is kronlab's earlier Pfeiffer (a Houlsby adapter at the FFN only)."""

from __future__ import annotations

from dataclasses import dataclass

from torch import nn

from src.fields import setting

from ._wiring import SEQUENTIAL_WIRINGS
from .base import Adapter
from .houlsby import BottleneckAdapter, BottleneckConfig, install_bottlenecks
from .placement import Placement
from .registry import register


class PfeifferAdapter(BottleneckAdapter):
    method = "pfeiffer"


@dataclass
class PfeifferConfig(BottleneckConfig):
    activation: str = "relu"
    placement: str = "ffn"
    wiring: str = setting("pfeiffer", choices=SEQUENTIAL_WIRINGS)


@register("pfeiffer", PfeifferConfig, starts_as="near_base")
def apply(model: nn.Module, cfg: PfeifferConfig, placement: Placement) -> list[Adapter]:
    """Pfeiffer (adapter-hub SeqBnConfig): ReLU bottleneck at each FFN output, the layer's norm before and after."""
    return install_bottlenecks(model, cfg, placement, PfeifferAdapter)
