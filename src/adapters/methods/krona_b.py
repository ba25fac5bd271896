"""KronA^B: a Kronecker module parallel to each FFN block, ``y = FFN(x) + s * x kron(A, B)^T + bias``
(SPEC §2). Not mergeable: it reads the block's input and writes its output. KronA^B_res (``adapter=krona_res``,
a variant with its own config: ``residual=scalar``) adds a learnable scaled residual, ``y = FFN(x) + s * x kron(A, B)^T + s_res * x``
(``sigres``: s_res through a sigmoid), s_res initialised to ``residual_init``."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from ..core.blocks import activation, block_sites, check_activation, check_placement
from ..core.placement import Placement, install_parallel
from ..core.protocol import Adapter, AdapterError
from ..core.registry import register, register_variant
from ..kron.config import KronFactorsConfig
from ..kron.factors import kaiming_
from ..kron.product import kron_matmul
from ..kron.shapes import resolve_factor_shapes

RESIDUALS = ("scalar", "sigres")


class KronABlock(Adapter):
    """``s * x kron(A, B)^T`` with optional biases, a nonlinearity between the factor products and a residual."""

    method = "krona_b"
    mergeable = False

    def __init__(
        self,
        a_shape: tuple[int, int],
        b_shape: tuple[int, int],
        scale: float,
        biases: int = 1,
        activation_name: str | None = None,
        init: str = "a_kaiming",
        residual: str | None = None,
        residual_init: float = 1.0,
        method: str | None = None,
    ) -> None:
        super().__init__(method)
        (a1, a2), (b1, b2) = a_shape, b_shape
        self.scale = scale
        self.A = nn.Parameter(torch.zeros(a1, a2))
        self.B = nn.Parameter(torch.zeros(b1, b2))
        kaiming_(self.A if init == "a_kaiming" else self.B)
        self.act = activation(activation_name)
        self.separate_products = activation_name is not None or biases == 2
        self.inner_bias = nn.Parameter(torch.zeros(a2, b1)) if biases == 2 else None
        self.bias = nn.Parameter(torch.zeros(a1 * b1)) if biases >= 1 else None
        self.residual = residual
        if residual is not None:
            if a1 * b1 != a2 * b2:
                raise AdapterError(
                    f"a residual needs d_in == d_out, but the factors give {a1 * b1}x{a2 * b2}."
                )
            self.residual_scale = nn.Parameter(torch.tensor(float(residual_init)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.separate_products:
            y = self._two_products(x)
        else:
            y = kron_matmul(x, self.A, self.B, self.scale)
        if self.bias is not None:
            y = y + self.bias
        if self.residual is not None:
            s_res = torch.sigmoid(self.residual_scale) if self.residual == "sigres" else self.residual_scale
            y = y + s_res * x
        return y

    def _two_products(self, x: torch.Tensor) -> torch.Tensor:
        """X -> X B^T (+ inner bias) -> act -> A (.): a nonlinearity forbids fusing the two contractions."""
        (a1, a2), (b1, b2) = self.A.shape, self.B.shape
        inner = x.reshape(-1, a2, b2) @ self.B.T
        if self.inner_bias is not None:
            inner = inner + self.inner_bias
        y = torch.matmul(self.A, self.act(inner)).reshape(*x.shape[:-1], a1 * b1)
        return y * self.scale

    def resolved_settings(self) -> dict:
        return {"a_shape": list(self.A.shape), "b_shape": list(self.B.shape)}

    def extra_repr(self) -> str:
        return (
            f"A={tuple(self.A.shape)}, B={tuple(self.B.shape)}, scale={self.scale}, residual={self.residual}"
        )


@dataclass
class KronABConfig(KronFactorsConfig):
    scale: float = 4.0
    biases: int = 1
    activation: str | None = None
    placement: str = "ffn"

    def validate(self) -> None:
        super().validate()
        if self.biases not in (0, 1, 2):
            raise AdapterError(
                f"adapter.biases={self.biases}: use 0, 1 (after the second product) or 2 (also after the first)."
            )
        check_activation(self.activation)
        check_placement(self.placement)

    def residual_settings(self) -> tuple[str | None, float]:
        """(residual kind, s_res at step 0): none for KronA^B."""
        return None, 1.0


@dataclass
class KronAResConfig(KronABConfig):
    """KronA^B_res's settings: KronA^B's and its residual."""

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


@register("krona_b", KronABConfig, starts_as="base", search={"adapter.scale": "choice(4.0, 16.0)"})
def apply(model: nn.Module, cfg: KronABConfig, placement: Placement) -> list[Adapter]:
    """KronA^B: s * kron(A, B) parallel to each FFN block (optionally attention too), with a bias; not mergeable."""
    adapters = []
    for site in block_sites(placement, cfg.placement):
        a_shape, b_shape = resolve_factor_shapes(
            cfg.a_shape, cfg.b_shape, site.width, site.width, site.writes, cfg.budget
        )
        block = KronABlock(
            a_shape,
            b_shape,
            cfg.scale,
            cfg.biases,
            cfg.activation,
            cfg.init,
            *cfg.residual_settings(),
            method=cfg.name,
        )
        adapters.append(install_parallel(model, site, block))
    return adapters


register_variant(
    "krona_res",
    of="krona_b",
    summary="KronA^B_res: KronA^B plus a learnable scaled residual s_res * x (init 1); not mergeable.",
    starts_as="changed",
    config=KronAResConfig,
)
