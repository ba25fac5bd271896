"""Small pieces the block adapters share: activations by config name and where blocks sit."""

from __future__ import annotations

from torch import nn

from .placement import Placement, Site
from .protocol import AdapterError

ACTIVATIONS: dict[str, type[nn.Module]] = {
    "relu": nn.ReLU,
    "gelu": nn.GELU,
    "silu": nn.SiLU,
    "swish": nn.SiLU,
    "mish": nn.Mish,
    "tanh": nn.Tanh,
}
PLACEMENTS = ("ffn", "attention", "ffn_attention")


def activation(name: str | None, setting: str = "adapter.activation") -> nn.Module:
    """The activation module for a config name; None (or 'none') is the identity."""
    if name in (None, "none", "identity"):
        return nn.Identity()
    if name not in ACTIVATIONS:
        raise AdapterError(f"{setting}={name!r} is not one of {sorted(ACTIVATIONS)} (or null for none).")
    return ACTIVATIONS[name]()


def check_activation(name: str | None, setting: str = "adapter.activation") -> None:
    activation(name, setting)


def check_placement(where: str) -> None:
    if where not in PLACEMENTS:
        raise AdapterError(f"adapter.placement={where!r} is not one of {PLACEMENTS}.")


def block_sites(placement: Placement, where: str) -> list[Site]:
    """The FFN and/or attention blocks of every layer, as the backbone family declares them."""
    check_placement(where)
    sites: list[Site] = []
    if where in ("attention", "ffn_attention"):
        sites.extend(placement.attention)
    if where in ("ffn", "ffn_attention"):
        sites.extend(placement.ffn)
    if not sites:
        raise AdapterError(
            f"the {placement.family} backbone declares no {where} blocks to place adapters on."
        )
    return sites


def bottleneck_size(hidden: int, bottleneck: int | None, reduction_factor: float | None) -> int:
    """``bottleneck`` when given, else hidden / reduction_factor (at least 1)."""
    if bottleneck is not None:
        if bottleneck < 1:
            raise AdapterError(
                f"adapter.bottleneck={bottleneck}: give a positive size, or null to use reduction_factor."
            )
        return bottleneck
    if not reduction_factor or reduction_factor <= 0:
        raise AdapterError(
            "set adapter.bottleneck (a size) or adapter.reduction_factor (hidden / size), both positive."
        )
    return max(1, int(hidden // reduction_factor))
