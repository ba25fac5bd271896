"""Compacter++: Compacter with one adapter per layer, after the FFN block only."""

from __future__ import annotations

from dataclasses import dataclass

from torch import nn

from .base import Adapter
from .compacter import CompacterAdapter, CompacterConfig, install_compacters
from .placement import Placement
from .registry import register


class CompacterPPAdapter(CompacterAdapter):
    method = "compacterpp"


@dataclass
class CompacterPPConfig(CompacterConfig):
    placement: str = "ffn"


@register("compacterpp", CompacterPPConfig, starts_as="near_base")
def apply(model: nn.Module, cfg: CompacterPPConfig, placement: Placement) -> list[Adapter]:
    """Compacter++: PHM bottleneck after each FFN output only (rules shared across layers)."""
    return install_compacters(model, cfg, placement, CompacterPPAdapter)
