"""KronA^B_res: KronA^B plus a learnable scaled residual, ``y = FFN(x) + s * x kron(A, B)^T + s_res * x``."""

from __future__ import annotations

from dataclasses import dataclass

from torch import nn

from .base import Adapter, AdapterError
from .krona_b import RESIDUALS, KronABConfig, KronABlock, install_blocks
from .placement import Placement
from .registry import register


class KronAResBlock(KronABlock):
    method = "krona_res"


@dataclass
class KronAResConfig(KronABConfig):
    residual: str = "scalar"
    residual_init: float = 1.0

    def validate(self) -> None:
        super().validate()
        if self.residual not in RESIDUALS:
            raise AdapterError(
                f"adapter.residual={self.residual!r} is not one of {RESIDUALS} "
                "(scalar: s_res learnable; sigres: sigmoid of a learnable parameter)."
            )

    def residual_settings(self) -> tuple[str | None, float]:
        return self.residual, self.residual_init


@register("krona_res", KronAResConfig, starts_as="changed")
def apply(model: nn.Module, cfg: KronAResConfig, placement: Placement) -> list[Adapter]:
    """KronA^B_res: KronA^B plus a learnable scaled residual s_res * x (init 1); not mergeable."""
    return install_blocks(model, cfg, placement, KronAResBlock)
