"""AdaKron (Braga et al.): a sequential bottleneck whose down-projection is the Kronecker product of
two small projections, ``h = x + U(GELU(kron(W2 x + b2, W1 x + b1))) + c`` (SPEC §2).

Pfeiffer placement: after each FFN output projection, before dropout, the residual and the layer norm.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from ..core.placement import Placement, install_sequential
from ..core.protocol import Adapter, AdapterError
from ..core.registry import MethodConfig, register
from ..kron.product import kron_vectors

INIT_STD = 0.02  # the authors' code: every Linear weight N(0, 0.02), biases zero


def normal_init_(linear: nn.Linear) -> nn.Linear:
    nn.init.normal_(linear.weight, std=INIT_STD)
    nn.init.zeros_(linear.bias)
    return linear


class AdaKron(Adapter):
    method = "adakron"
    mergeable = False

    def __init__(self, hidden: int, r: int, a: int) -> None:
        super().__init__()
        self.w1 = normal_init_(nn.Linear(hidden, r // a))
        self.w2 = normal_init_(nn.Linear(hidden, a))
        self.up = normal_init_(nn.Linear(r, hidden))
        self.act = nn.GELU()

    def second_projection(self, x: torch.Tensor) -> torch.Tensor:
        return self.w2(x)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.up(self.act(kron_vectors(self.second_projection(x), self.w1(x))))

    def extra_repr(self) -> str:
        return f"r={self.up.in_features}, a={self.w2.out_features}"


def check_sizes(r: int, a: int) -> None:
    if r < 1 or a < 1:
        raise AdapterError(f"adapter.r={r} and adapter.a={a} must be positive integers.")
    if r % a != 0:
        divisors = [d for d in range(1, r + 1) if r % d == 0]
        raise AdapterError(
            f"AdaKron needs adapter.a to divide adapter.r (the bottleneck r is a Kronecker product of sizes a and r/a), "
            f"but r={r}, a={a}. For r={r} use a in {divisors}; e.g. r=48 a=4 (AdaKron_48), r=32 a=4, r=16 a=4."
        )


@dataclass
class AdaKronConfig(MethodConfig):
    r: int = 48
    a: int = 4

    def validate(self) -> None:
        check_sizes(self.r, self.a)


@register("adakron", AdaKronConfig, starts_as="near_base")
def apply(model: nn.Module, cfg: AdaKronConfig, placement: Placement) -> list[Adapter]:
    """AdaKron: sequential bottleneck after each FFN output, down-projection kron(W2 x, W1 x); not mergeable."""
    return [install_sequential(model, site, AdaKron(site.width, cfg.r, cfg.a)) for site in placement.ffn]
