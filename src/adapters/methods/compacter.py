"""Compacter (Karimi Mahabadi et al.): Houlsby adapters whose projections are PHM layers,
``W = sum_i kron(A_i, s_i t_i^T)`` with n rule matrices A_i (n x n) shared by every layer of the model
and rank-``rank`` factors s_i, t_i per layer, wired as adapter-hub's ``CompacterConfig`` (its Houlsby wiring, GELU,
reduction 32; src/adapters/core/wiring.py). Compacter++ (``adapter=compacterpp``, a variant) as adapter-hub's
``CompacterPlusPlusConfig`` (a ``SeqBnConfig``) defines it: one adapter per layer at the FFN block, in the Pfeiffer
wiring (the layer's norm before and after the bottleneck)."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from src.fields import setting

from ..core.blocks import block_sites, bottleneck_size, check_activation, check_placement
from ..core.placement import Placement, add_child
from ..core.protocol import Adapter, AdapterError
from ..core.registry import MethodConfig, register, register_variant
from ..core.wiring import SEQUENTIAL_WIRINGS, install_bottleneck
from ..kron.product import kron_matmul
from .houlsby import BottleneckAdapter

RULES_NAME = "compacter_rules"
RULE_STD = 1e-2


class SharedRules(Adapter):
    """The n rule matrices A_i shared across layers: one tensor per model, registered once at its root."""

    method = "compacter"

    def __init__(self, n: int, method: str | None = None) -> None:
        super().__init__(method)
        self.rules = nn.Parameter(torch.randn(n, n, n) * RULE_STD)


class PHMLinear(nn.Module):
    """``x W^T + b`` with ``W = sum_i kron(A_i, s_i t_i^T)`` of shape (d_out, d_in), never built densely."""

    def __init__(self, d_in: int, d_out: int, rules: SharedRules, rank: int) -> None:
        super().__init__()
        n = rules.rules.shape[0]
        object.__setattr__(self, "_rules", rules)  # shared, owned by the model's SharedRules module
        self.s = nn.Parameter(torch.empty(n, d_out // n, rank))
        self.t = nn.Parameter(torch.empty(n, rank, d_in // n))
        self.bias = nn.Parameter(torch.zeros(d_out))
        for i in range(n):
            nn.init.xavier_uniform_(self.s[i])
            nn.init.xavier_uniform_(self.t[i])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        rules = self._rules.rules
        factors = self.s @ self.t  # (n, d_out/n, d_in/n): small, one per rule
        return sum(kron_matmul(x, rules[i], factors[i]) for i in range(rules.shape[0])) + self.bias


class CompacterAdapter(BottleneckAdapter):
    method = "compacter"


@dataclass
class CompacterConfig(MethodConfig):
    n: int = 4
    rank: int = 1
    bottleneck: int | None = setting(
        None, ge=1
    )  # null: hidden / reduction_factor, rounded up to a multiple of n
    reduction_factor: float | None = setting(32, gt=0)
    activation: str = "gelu"
    placement: str = "ffn_attention"
    wiring: str = setting("houlsby", choices=SEQUENTIAL_WIRINGS)  # src/adapters/core/wiring.py

    def validate(self) -> None:
        if self.n < 1 or self.rank < 1:
            raise AdapterError(f"adapter.n={self.n} and adapter.rank={self.rank} must be positive integers.")
        check_activation(self.activation)
        check_placement(self.placement)


def phm_bottleneck(width: int, cfg: CompacterConfig) -> int:
    """The bottleneck size, rounded up to a multiple of n (PHM layers need n to divide both sizes)."""
    if width % cfg.n != 0:
        raise AdapterError(
            f"Compacter needs adapter.n={cfg.n} to divide the hidden size {width}; pick n among its divisors."
        )
    size = bottleneck_size(width, cfg.bottleneck, cfg.reduction_factor)
    return -(-size // cfg.n) * cfg.n


def install_compacters(
    model: nn.Module, cfg: CompacterConfig, placement: Placement, adapter_type: type[BottleneckAdapter]
) -> list[Adapter]:
    rules = SharedRules(cfg.n, method=cfg.name or adapter_type.method)
    add_child(model, rules, RULES_NAME)
    adapters: list[Adapter] = [rules]
    for site in block_sites(placement, cfg.placement):
        size = phm_bottleneck(site.width, cfg)
        down = PHMLinear(site.width, size, rules, cfg.rank)
        up = PHMLinear(size, site.width, rules, cfg.rank)
        adapter = adapter_type(down, up, cfg.activation, method=cfg.name)
        adapters.append(install_bottleneck(model, site, adapter, cfg.wiring))
    return adapters


@register("compacter", CompacterConfig, starts_as="near_base")
def apply(model: nn.Module, cfg: CompacterConfig, placement: Placement) -> list[Adapter]:
    """Compacter: Houlsby placement with PHM projections (rules shared across layers, rank-1 factors)."""
    return install_compacters(model, cfg, placement, CompacterAdapter)


register_variant(
    "compacterpp",
    of="compacter",
    summary="Compacter++ (adapter-hub CompacterPlusPlusConfig): PHM bottleneck at each FFN block, Pfeiffer wiring.",
    placement="ffn",
    wiring="pfeiffer",
)
