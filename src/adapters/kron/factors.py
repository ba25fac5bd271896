"""The factors of a sum of Kronecker terms, ``s * sum_i kron(A_i, B_i)``, as parameters of one module: each
factor kept whole or as a rank-r product (``inner_rank``: B_i = B_i_a B_i_b, with ``decompose=both`` also A_i),
a fixed or learnable ``s``, their initialisations, and the factorised update ``s * x (sum_i kron(A_i, B_i))^T``.

Parameter names (state dicts, exports): term 0 keeps the paper's ``A``, ``B``; term i >= 1 is ``A_i``, ``B_i``;
a factor stored as a product is ``<name>_a`` (rows x r) times ``<name>_b`` (r x cols), e.g. ``B_a``, ``B_b``,
``B_1_a``; ``scale`` when learnable. For one term this is PEFT LoKr's layout: A = lokr_w1 (or
lokr_w1_a @ lokr_w1_b), B = lokr_w2 (or lokr_w2_a @ lokr_w2_b), s = alpha / r.

Initialisations (``init``): ``a_kaiming`` (A Kaiming-uniform, B zero; a product B_a B_b gets B_a Kaiming, B_b
zero, as LyCORIS), ``b_kaiming`` (the reverse; a product A_a A_b gets A_a zero, A_b Kaiming, as PEFT LoKr), both
with dW = 0 at step 0; ``both_kaiming`` (every factor Kaiming); ``svd_a``: each A_i from the nearest Kronecker sum
of the frozen W (``nearest.py``), each B_i zero, so dW = 0 too; ``svd``: both factors from it, A_i =
sqrt(sigma_i / s) mat(u_i), B_i = sqrt(sigma_i / s) mat(v_i) up to sign, so dW starts at W's best approximation
by k Kronecker terms of these shapes. A factor stored as a rank-r product takes the rank-r truncated SVD of its
whole value.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from ..core.protocol import Adapter, AdapterError
from .nearest import low_rank_split, nearest_kronecker_terms
from .product import kron_matmul
from .shapes import per_term_shapes

INITS = (
    "a_kaiming",
    "b_kaiming",
)  # what every Kronecker method offers: which factor is Kaiming, the other zero


def kaiming_(tensor: torch.Tensor) -> torch.Tensor:
    return nn.init.kaiming_uniform_(tensor, a=math.sqrt(5))


def factor_name(letter: str, term: int) -> str:
    return letter if term == 0 else f"{letter}_{term}"


class KronFactors(Adapter):
    """The factors of ``s * sum_i kron(A_i, B_i)`` and the update they make, never building a product."""

    def __init__(
        self,
        a_shape,
        b_shape,
        scale: float = 1.0,
        init: str = "a_kaiming",
        *,
        terms: int = 1,
        inner_rank: int | None = None,
        decompose: str = "b",
        learn_scale: bool = False,
        base_weight: torch.Tensor | None = None,
        method: str | None = None,
    ) -> None:
        """``a_shape``/``b_shape``: one (rows, cols) pair for every term, or one pair per term; ``base_weight``
        (the frozen W) is what the SVD initialisations decompose."""
        super().__init__(method)
        if init.startswith("svd") and base_weight is None:
            raise AdapterError(
                f"KronA init={init!r} / weight_decompose needs the frozen weight (base_weight)."
            )
        self.term_shapes = per_term_shapes(a_shape, b_shape, terms)
        self.inner_rank = inner_rank
        self.decomposed = {"A": inner_rank is not None and decompose == "both", "B": inner_rank is not None}
        self.scale = nn.Parameter(torch.tensor(float(scale))) if learn_scale else scale
        for term, (a, b) in enumerate(self.term_shapes):
            for letter, shape in (("A", a), ("B", b)):
                name = factor_name(letter, term)
                if self.decomposed[letter]:
                    self.register_parameter(f"{name}_a", nn.Parameter(torch.zeros(shape[0], inner_rank)))
                    self.register_parameter(f"{name}_b", nn.Parameter(torch.zeros(inner_rank, shape[1])))
                else:
                    self.register_parameter(name, nn.Parameter(torch.zeros(*shape)))
        with torch.no_grad():
            self._initialise(init, base_weight)

    @property
    def terms(self) -> int:
        return len(self.term_shapes)

    def _initialise(self, init: str, base_weight: torch.Tensor | None) -> None:
        if init.startswith("svd") and base_weight is not None and base_weight.device.type != "meta":
            values = nearest_kronecker_terms(base_weight, self.term_shapes)
            for term, (A, B) in enumerate(values):
                if (
                    init == "svd"
                ):  # s * kron(A, B) = sigma u v^T: the scale's root on each factor, its sign on A
                    root = abs(float(self.scale)) ** 0.5
                    self._set_factor("A", term, A * (math.copysign(1.0, float(self.scale)) / root))
                    self._set_factor("B", term, B / root)
                else:
                    self._set_factor("A", term, A)
                    self._kaiming_then_zero("B", term)
            return
        for term in range(self.terms):
            if init == "b_kaiming":
                self._kaiming_then_zero("A", term, zero_first=True)
                self._kaiming("B", term)
            elif init == "both_kaiming":
                self._kaiming("A", term)
                self._kaiming("B", term)
            else:  # a_kaiming (and the svd inits on the meta device: shapes only)
                self._kaiming("A", term)
                self._kaiming_then_zero("B", term)

    def factor_parts(self, letter: str, term: int) -> list[nn.Parameter]:
        """The parameters that make factor A or B of one term: [whole] or [rows x r, r x cols]."""
        name = factor_name(letter, term)
        if self.decomposed[letter]:
            return [getattr(self, f"{name}_a"), getattr(self, f"{name}_b")]
        return [getattr(self, name)]

    def _kaiming(self, letter: str, term: int) -> None:
        for part in self.factor_parts(letter, term):
            kaiming_(part)

    def _kaiming_then_zero(self, letter: str, term: int, zero_first: bool = False) -> None:
        """A whole factor zero; a product with one part Kaiming and the other zero (the second, or the first)."""
        parts = self.factor_parts(letter, term)
        if len(parts) == 1:
            parts[0].zero_()
            return
        zero, other = (parts[0], parts[1]) if zero_first else (parts[1], parts[0])
        zero.zero_()
        kaiming_(other)

    def _set_factor(self, letter: str, term: int, value: torch.Tensor) -> None:
        parts = self.factor_parts(letter, term)
        if len(parts) == 1:
            parts[0].copy_(value)
        else:
            for part, piece in zip(parts, low_rank_split(value, self.inner_rank), strict=True):
                part.copy_(piece)

    def factor(self, letter: str, term: int) -> torch.Tensor:
        parts = self.factor_parts(letter, term)
        return parts[0] if len(parts) == 1 else parts[0] @ parts[1]

    def factors(self) -> list[torch.Tensor]:
        """[A_0, B_0, A_1, B_1, ...], products composed."""
        return [self.factor(letter, term) for term in range(self.terms) for letter in ("A", "B")]

    def update(self, x: torch.Tensor, factors: list[torch.Tensor] | None = None) -> torch.Tensor:
        """``s * x (sum_i kron(A_i, B_i))^T`` without building a product."""
        factors = self.factors() if factors is None else factors
        y = kron_matmul(x, factors[0], factors[1])
        for A, B in zip(factors[2::2], factors[3::2], strict=True):
            y = y + kron_matmul(x, A, B)
        return y * self.scale

    def resolved_settings(self) -> dict:
        """The shapes as the config takes them: one pair when every term shares it, else one pair per term."""
        a_shapes = [list(a) for a, _ in self.term_shapes]
        b_shapes = [list(b) for _, b in self.term_shapes]
        if len(set(self.term_shapes)) == 1:
            return {"a_shape": a_shapes[0], "b_shape": b_shapes[0]}
        return {"a_shape": a_shapes, "b_shape": b_shapes}
