"""KronA: a weight-parallel Kronecker update ``y = x W^T + s * x kron(A, B)^T`` (mergeable)."""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import nn

from .base import Adapter, AdapterError
from .kron import (
    balanced_factor_shapes,
    describe_valid_shapes,
    factorised_cost,
    kron_dense,
    kron_matmul,
    shapes_closest_to_budget,
)
from .kron_linear import kron_linear
from .placement import Placement, install_fused, wrap_linears
from .registry import MethodConfig, register

INITS = ("a_kaiming", "b_kaiming")


def kaiming_(tensor: torch.Tensor) -> torch.Tensor:
    return nn.init.kaiming_uniform_(tensor, a=math.sqrt(5))


def check_factor_shapes(a_shape, b_shape, d_out: int, d_in: int, where: str) -> None:
    a1, a2 = a_shape
    b1, b2 = b_shape
    if a1 * b1 != d_out or a2 * b2 != d_in:
        raise AdapterError(
            f"KronA factors a_shape={list(a_shape)} b_shape={list(b_shape)} give a "
            f"{a1 * b1}x{a2 * b2} update but {where} is {d_out}x{d_in} (out x in): "
            f"need a1*b1 = {d_out} and a2*b2 = {d_in}. Valid shapes for this layer: "
            f"{describe_valid_shapes(d_out, d_in)}"
        )


AUTO = "auto"


def resolve_factor_shapes(a_shape, b_shape, d_out: int, d_in: int, where: str, budget: int | None = None):
    """The configured shapes checked against a d_out x d_in layer. ``auto`` (or None): the valid shapes
    whose parameter count is closest to ``budget``, or the most balanced ones when there is no budget."""
    if a_shape in (None, AUTO):
        if budget is None:
            return balanced_factor_shapes(d_out, d_in)
        return shapes_closest_to_budget(d_out, d_in, budget)
    check_factor_shapes(a_shape, b_shape, d_out, d_in, where)
    return tuple(a_shape), tuple(b_shape)


def validate_factor_settings(a_shape, b_shape, budget: int | None) -> None:
    """Shared by every Kronecker method's config: both shapes given, or both auto; a positive budget."""
    if (a_shape in (None, AUTO)) != (b_shape in (None, AUTO)):
        raise AdapterError(
            "set both adapter.a_shape and adapter.b_shape (like [32,24] and [24,32]), or both to auto "
            "(auto: the valid shapes closest to adapter.budget, or the most balanced ones when budget is null)."
        )
    for key, value in (("a_shape", a_shape), ("b_shape", b_shape)):
        if isinstance(value, str) and value != AUTO:
            raise AdapterError(f"adapter.{key}={value!r}: use auto or two positive integers like [32, 24].")
        if value not in (None, AUTO) and (len(value) != 2 or any(int(v) < 1 for v in value)):
            raise AdapterError(f"adapter.{key} must be two positive integers like [32, 24], got {value!r}.")
    if budget is not None and budget < 1:
        raise AdapterError(f"adapter.budget={budget}: give a positive number of parameters per layer, or null.")
    if budget is not None and a_shape not in (None, AUTO):
        raise AdapterError("adapter.budget only applies with a_shape=auto and b_shape=auto; drop one of them.")


class KronA(Adapter):
    method = "krona"
    mergeable = True

    def __init__(self, a_shape, b_shape, scale: float = 1.0, init: str = "a_kaiming") -> None:
        super().__init__()
        self.scale = scale
        self.A = nn.Parameter(torch.zeros(*a_shape))
        self.B = nn.Parameter(torch.zeros(*b_shape))
        kaiming_(self.A if init == "a_kaiming" else self.B)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """The update alone: ``scale * x kron(A, B)^T``."""
        return kron_matmul(x, self.A, self.B, self.scale)

    def host_forward(self, x: torch.Tensor) -> torch.Tensor:
        """The host linear layer's output with the update (installed as its forward by ``install_fused``)."""
        host = self._host
        base_forward = type(host).forward
        if not self.active:
            return base_forward(host, x)
        if self.fuses(host, x):
            return kron_linear(x, host.weight, host.bias, self.A, self.B, self.scale)
        return base_forward(host, x) + self(x)

    def fuses(self, host: nn.Module, x: torch.Tensor) -> bool:
        """Fold the update into the layer's GEMM when building kron(A, B) costs less than the factorised
        update over these tokens, in full precision only: under autocast or in half precision a small
        update added to W would be rounded away at W's scale, so there it stays a separate term."""
        if type(host).forward is not nn.Linear.forward or torch.is_autocast_enabled(x.device.type):
            return False
        if not (x.dtype == host.weight.dtype == self.A.dtype and x.dtype in (torch.float32, torch.float64)):
            return False
        tokens = x.numel() // x.shape[-1]
        return tokens * min(factorised_cost(self.A.shape, self.B.shape)) >= host.weight.numel()

    def delta_weight(self) -> torch.Tensor:
        return kron_dense(self.A, self.B, self.scale)

    def resolved_settings(self) -> dict:
        return {"a_shape": list(self.A.shape), "b_shape": list(self.B.shape)}

    def extra_repr(self) -> str:
        return f"A={tuple(self.A.shape)}, B={tuple(self.B.shape)}, scale={self.scale}"


@dataclass
class KronFactorsConfig(MethodConfig):
    """The factor settings every Kronecker method shares: shapes (or auto + budget) and which factor starts at zero."""

    a_shape: list[int] | str | None = AUTO
    b_shape: list[int] | str | None = AUTO
    budget: int | None = None
    init: str = "a_kaiming"

    def validate(self) -> None:
        if self.init not in INITS:
            raise AdapterError(f"adapter.init={self.init!r} is not one of {INITS} (which factor is Kaiming; the other is zero).")
        validate_factor_settings(self.a_shape, self.b_shape, self.budget)


@dataclass
class KronAConfig(KronFactorsConfig):
    targets: list[str] | str | None = None
    scale: float = 1.0


@register("krona", KronAConfig)
def apply(model: nn.Module, cfg: KronAConfig, placement: Placement) -> list[Adapter]:
    """KronA: Kronecker update parallel to chosen weight matrices (query/value by default); mergeable."""

    def build(name: str, linear: nn.Linear) -> KronA:
        a_shape, b_shape = resolve_factor_shapes(
            cfg.a_shape, cfg.b_shape, linear.out_features, linear.in_features, name, cfg.budget
        )
        return KronA(a_shape, b_shape, cfg.scale, cfg.init)

    return wrap_linears(model, placement, cfg.targets, build, install=install_fused)
