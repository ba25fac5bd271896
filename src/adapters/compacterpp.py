"""Compacter++ as adapter-hub's ``CompacterPlusPlusConfig`` (a ``SeqBnConfig``) defines it: Compacter with one
adapter per layer at the FFN block, in the Pfeiffer wiring (the layer's norm before and after the bottleneck)."""

from __future__ import annotations

from dataclasses import dataclass

from torch import nn

from src.fields import setting

from ._wiring import SEQUENTIAL_WIRINGS
from .base import Adapter
from .compacter import CompacterAdapter, CompacterConfig, install_compacters
from .placement import Placement
from .registry import register


class CompacterPPAdapter(CompacterAdapter):
    method = "compacterpp"


@dataclass
class CompacterPPConfig(CompacterConfig):
    placement: str = "ffn"
    wiring: str = setting("pfeiffer", choices=SEQUENTIAL_WIRINGS)


@register("compacterpp", CompacterPPConfig, starts_as="near_base")
def apply(model: nn.Module, cfg: CompacterPPConfig, placement: Placement) -> list[Adapter]:
    """Compacter++ (adapter-hub CompacterPlusPlusConfig): PHM bottleneck at each FFN block, Pfeiffer wiring."""
    return install_compacters(model, cfg, placement, CompacterPPAdapter)
