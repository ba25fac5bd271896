"""What every Kronecker method shares about its factors: shapes (explicit, auto by budget, PEFT LoKr's, one per
term), their checks, and the factor settings of the config."""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import nn

from .base import AdapterError
from .kron import balanced_factor_shapes, describe_valid_shapes, shapes_closest_to_budget
from .registry import MethodConfig

LOKR_SHAPES = "lokr"
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
        raise AdapterError(
            f"adapter.budget={budget}: give a positive number of parameters per layer, or null."
        )
    if budget is not None and a_shape not in (None, AUTO):
        raise AdapterError(
            "adapter.budget only applies with a_shape=auto and b_shape=auto; drop one of them."
        )


def per_term_shapes(a_shape, b_shape, terms: int) -> list[tuple[tuple[int, int], tuple[int, int]]]:
    """One (A shape, B shape) per term from one shared pair or from lists of pairs."""
    if is_shape_list(a_shape):
        return [(tuple(a), tuple(b)) for a, b in zip(a_shape, b_shape, strict=True)]
    return [(tuple(a_shape), tuple(b_shape))] * terms


def is_shape_list(value) -> bool:
    return isinstance(value, (list, tuple)) and len(value) > 0 and isinstance(value[0], (list, tuple))


@dataclass
class KronFactorsConfig(MethodConfig):
    """The factor settings every Kronecker method shares: shapes (or auto + budget) and which factor starts at zero."""

    a_shape: list[int] | str | None = AUTO
    b_shape: list[int] | str | None = AUTO
    budget: int | None = None
    init: str = "a_kaiming"

    def validate(self) -> None:
        if self.init not in INITS:
            raise AdapterError(
                f"adapter.init={self.init!r} is not one of {INITS} (which factor is Kaiming; the other is zero)."
            )
        validate_factor_settings(self.a_shape, self.b_shape, self.budget)


def lokr_factor_shapes(d_out: int, d_in: int, factor: int = -1):
    """PEFT LoKr's shapes for a linear layer: A = (out_l, in_m), B = (out_k, in_n) from peft's own factorization."""
    try:
        from peft.tuners.lokr.layer import factorization
    except ImportError as error:
        raise AdapterError(
            "a_shape=lokr uses peft's factorization: pip install peft, or give the shapes."
        ) from error
    (out_l, out_k), (in_m, in_n) = factorization(d_out, factor), factorization(d_in, factor)
    return (out_l, in_m), (out_k, in_n)
