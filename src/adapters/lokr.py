"""LoKr (LyCORIS; PEFT ``tuners/lokr``): KronA with a low-rank factor inside the product,
``dW = (alpha / r) * kron(A, B_a B_b)``, set up as PEFT does: PEFT's factor shapes
(``a_shape=lokr``), rank r = ``inner_rank``, scale alpha / r, A zero and B's parts Kaiming.
The same fused, mergeable layer as KronA (``krona.py``); every KronA option applies."""

from __future__ import annotations

from dataclasses import dataclass

from torch import nn

from .base import Adapter, AdapterError
from .krona import LOKR_SHAPES, KronA, KronAConfig
from .placement import Placement, install_fused, wrap_linears
from .registry import register


class LoKr(KronA):
    method = "lokr"


@dataclass
class LoKrConfig(KronAConfig):
    a_shape: list[int] | list[list[int]] | str | None = LOKR_SHAPES
    b_shape: list[int] | list[list[int]] | str | None = LOKR_SHAPES
    inner_rank: int | None = 8
    init: str = "b_kaiming"
    alpha: float = 8.0
    scale: float | None = None

    def validate(self) -> None:
        if self.scale is None and self.inner_rank is None:
            raise AdapterError("adapter=lokr with inner_rank=null has no r for alpha / r: set adapter.scale.")
        super().validate()

    @property
    def effective_scale(self) -> float:
        """PEFT's ``alpha / r`` unless ``scale`` is set."""
        return self.alpha / self.inner_rank if self.scale is None else self.scale


@register("lokr", LoKrConfig, starts_as="base")
def apply(model: nn.Module, cfg: LoKrConfig, placement: Placement) -> list[Adapter]:
    """LoKr: KronA with B (or A and B) a rank-r product, scale alpha / r, PEFT's shapes and init; mergeable."""
    return wrap_linears(
        model,
        placement,
        cfg.targets,
        lambda name, linear: cfg.adapter_for(name, linear, LoKr),
        install=install_fused,
    )
