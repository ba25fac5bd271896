"""Full fine-tuning: no adapter modules, every parameter trains."""

from __future__ import annotations

from dataclasses import dataclass

from torch import nn

from ..core.placement import Placement
from ..core.protocol import Adapter
from ..core.registry import MethodConfig, register


@dataclass
class FullConfig(MethodConfig):
    trains_everything: bool = True


@register("full", FullConfig, starts_as="base")
def apply(model: nn.Module, cfg: FullConfig, placement: Placement) -> list[Adapter]:
    """Full fine-tuning: every backbone parameter trains."""
    return []
