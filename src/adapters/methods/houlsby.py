"""Houlsby adapters as adapter-hub's ``DoubleSeqBnConfig`` defines them: a sequential bottleneck
``b + up(swish(down(b)))`` on the branch of every attention block and every FFN block, after the block's dropout and
before its residual add and norm; weights N(0, 0.02), biases zero (adapter-hub's "bert" init, the AdaKron
authors' code). ``adapter.wiring`` (src/adapters/core/wiring.py) and ``adapter.init`` select the other forms.

Pfeiffer (``adapter=pfeiffer``, a variant) as adapter-hub's ``SeqBnConfig`` defines it (and the AdaKron authors'
``modeling_bert.py``): one ReLU bottleneck per layer at the FFN block, reading the block's normalised output, its
residual taken before the norm and the layer's own norm applied again: with r = x + D(h),
``out = N(r + up(ReLU(down(N(r)))))``. Weights N(0, 0.02), biases zero. ``adapter.wiring=projection
adapter.activation=relu adapter.init=near_identity`` is kronlab's earlier Pfeiffer (a Houlsby adapter at the FFN
only)."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from src.fields import setting

from ..core.blocks import activation, block_sites, bottleneck_size, check_activation, check_placement
from ..core.placement import Placement
from ..core.protocol import Adapter, AdapterError
from ..core.registry import MethodConfig, register, register_variant
from ..core.wiring import SEQUENTIAL_WIRINGS, install_bottleneck

INIT_STD = {
    "bert": 2e-2,  # adapter-hub's init_weights="bert" and the AdaKron authors' code: N(0, 0.02), biases zero
    "near_identity": 1e-2,  # kronlab before issue 23: N(0, 0.01), biases zero
}


class BottleneckAdapter(Adapter):
    """``h + f(h)`` with ``f = up(act(down(.)))``; ``down`` and ``up`` are any modules (Linear here, PHM in Compacter)."""

    method = "houlsby"
    mergeable = False

    def __init__(
        self, down: nn.Module, up: nn.Module, activation_name: str, method: str | None = None
    ) -> None:
        super().__init__(method)
        self.down = down
        self.up = up
        self.act = activation(activation_name)

    def bottleneck(self, h: torch.Tensor) -> torch.Tensor:
        return self.up(self.act(self.down(h)))

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        return h + self.bottleneck(h)

    def transform_branch(self, module: nn.Module, args: tuple, kwargs: dict, output):
        """The ``pfeiffer`` wiring, a forward hook on the block's branch: ``b -> b + f(N(x + b))``, x the residual
        stream captured at the block's start, N the block's norm (none in a pre-norm layer)."""
        if not self.active:
            return None
        x = self.__dict__.pop("_stash", None)
        if x is None:
            raise AdapterError(
                f"{self.method} at {getattr(self, '_host_name', '?')}: the block's branch ran before its residual "
                "input was seen; the placement row's wiring names the wrong modules (src/backbones/architectures.py)."
            )
        branch = output[0] if isinstance(output, tuple) else output
        norm = self.__dict__.get("_norm")
        total = x + branch
        new = branch + self.bottleneck(norm(total) if norm is not None else total)
        return (new, *output[1:]) if isinstance(output, tuple) else new


def normal_linear(d_in: int, d_out: int, std: float) -> nn.Linear:
    linear = nn.Linear(d_in, d_out)
    nn.init.normal_(linear.weight, std=std)
    nn.init.zeros_(linear.bias)
    return linear


@dataclass
class BottleneckConfig(MethodConfig):
    bottleneck: int | None = setting(None, ge=1)  # null: hidden / reduction_factor
    reduction_factor: float | None = setting(16, gt=0)
    activation: str = "swish"
    placement: str = "ffn_attention"
    wiring: str = setting("houlsby", choices=SEQUENTIAL_WIRINGS)  # src/adapters/core/wiring.py
    init: str = setting("bert", choices=tuple(INIT_STD))

    def validate(self) -> None:
        check_activation(self.activation)
        check_placement(self.placement)


class HoulsbyAdapter(BottleneckAdapter):
    method = "houlsby"


def install_bottlenecks(
    model: nn.Module, cfg: BottleneckConfig, placement: Placement, adapter_type: type[BottleneckAdapter]
) -> list[Adapter]:
    adapters = []
    std = INIT_STD[cfg.init]
    for site in block_sites(placement, cfg.placement):
        size = bottleneck_size(site.width, cfg.bottleneck, cfg.reduction_factor)
        down, up = normal_linear(site.width, size, std), normal_linear(size, site.width, std)
        adapter = adapter_type(down, up, cfg.activation, method=cfg.name)
        adapters.append(install_bottleneck(model, site, adapter, cfg.wiring))
    return adapters


@register("houlsby", BottleneckConfig, starts_as="near_base")
def apply(model: nn.Module, cfg: BottleneckConfig, placement: Placement) -> list[Adapter]:
    """Houlsby (adapter-hub DoubleSeqBnConfig): swish bottleneck on each attention and FFN branch after dropout."""
    return install_bottlenecks(model, cfg, placement, HoulsbyAdapter)


register_variant(
    "pfeiffer",
    of="houlsby",
    summary="Pfeiffer (adapter-hub SeqBnConfig): ReLU bottleneck at each FFN output, the layer's norm before and after.",
    activation="relu",
    placement="ffn",
    wiring="pfeiffer",
)
