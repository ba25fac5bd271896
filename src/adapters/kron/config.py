"""The settings of the Kronecker methods: the factor shapes every one of them takes (explicit, ``auto`` by
budget, PEFT LoKr's), and the linear layer's (``layer.py``: terms, inner rank, scale, DoRA), each checked once."""

from __future__ import annotations

from dataclasses import dataclass

from torch import nn

from ..core.protocol import AdapterError
from ..core.quantized import dequantized_weight
from ..core.registry import MethodConfig
from .factors import INITS
from .layer import KronLinear
from .shapes import AUTO, check_factor_settings, per_term_shapes, resolve_factor_shapes, stored_factor_count

LINEAR_INITS = (*INITS, "both_kaiming", "svd_a", "svd")
DECOMPOSE = ("b", "both")


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
        check_factor_settings(self.a_shape, self.b_shape, self.budget)


@dataclass
class KronLinearConfig(KronFactorsConfig):
    """The Kronecker linear layer's settings (``layer.py``; conf/adapter/krona.yaml says what each does)."""

    a_shape: list[int] | list[list[int]] | str | None = AUTO
    b_shape: list[int] | list[list[int]] | str | None = AUTO
    targets: list[str] | str | None = None
    scale: float = 1.0
    terms: int = 1
    inner_rank: int | None = None
    decompose: str = "b"
    learn_scale: bool = False
    weight_decompose: bool = False
    decompose_factor: int = -1

    def validate(self) -> None:
        if self.init not in LINEAR_INITS:
            raise AdapterError(
                f"adapter.init={self.init!r} is not one of {LINEAR_INITS} (a_kaiming/b_kaiming: that factor "
                "Kaiming, the other zero; both_kaiming: both, for scale=0 with learn_scale=true; svd_a: A from the "
                "frozen weight's Kronecker SVD, B zero; svd: both from it)."
            )
        if self.terms < 1:
            raise AdapterError(f"adapter.terms={self.terms}: give the number of Kronecker terms, 1 or more.")
        if self.inner_rank is not None and self.inner_rank < 1:
            raise AdapterError(
                f"adapter.inner_rank={self.inner_rank}: give a positive rank, or null for whole factors."
            )
        if self.decompose not in DECOMPOSE:
            raise AdapterError(
                f"adapter.decompose={self.decompose!r}: use b (B as a rank-r product) or both (A too)."
            )
        if self.decompose == "both" and self.inner_rank is None:
            raise AdapterError("adapter.decompose=both needs adapter.inner_rank (the rank of the products).")
        if self.decompose_factor != -1 and self.decompose_factor < 1:
            raise AdapterError(
                f"adapter.decompose_factor={self.decompose_factor}: -1 (near the square root) or a positive divisor."
            )
        if self.effective_scale == 0 and not (self.learn_scale and self.init == "both_kaiming"):
            raise AdapterError(
                f"adapter.scale=0 with init={self.init} and learn_scale={self.learn_scale} never trains (s = 0 and "
                "a zero factor give every factor and s a zero gradient): use adapter.learn_scale=true "
                "adapter.init=both_kaiming (LyCORIS' use_scalar), or a non-zero scale."
            )
        check_factor_settings(self.a_shape, self.b_shape, self.budget, terms=self.terms, lokr=True)

    def quantized_base_refusal(self) -> str | None:
        if self.weight_decompose:
            return (
                f"adapter={self.name} adapter.weight_decompose=true computes its layer with W + dW and the norms of "
                "W + dW every step, which a 4-/8-bit W does not hold: set adapter.weight_decompose=false or "
                "backbone.quantize=none"
            )
        return super().quantized_base_refusal()

    @property
    def effective_scale(self) -> float:
        """The s the layers get (a method may derive it: LoKr's alpha / r)."""
        return self.scale

    @property
    def starts_as_base_model(self) -> bool:
        """Whether dW = 0 at step 0: one factor zero, or (both_kaiming) s = 0. svd starts at W's Kronecker
        approximation, both_kaiming with s != 0 at a random product."""
        return self.init in ("a_kaiming", "b_kaiming", "svd_a") or self.effective_scale == 0

    @property
    def starts_as(self) -> str:
        return "base" if self.starts_as_base_model else "changed"

    def parameters_per_layer(self, a_shape, b_shape, d_out: int) -> int:
        """What one layer trains with these factor shapes (one shared pair) in every term."""
        a_rank = self.inner_rank if self.decompose == "both" else None
        per_term = stored_factor_count(a_shape, a_rank) + stored_factor_count(b_shape, self.inner_rank)
        return self.terms * per_term + int(self.learn_scale) + (d_out if self.weight_decompose else 0)

    def shapes_for(self, d_out: int, d_in: int, where: str):
        """(a_shape, b_shape) for a d_out x d_in layer (``resolve_factor_shapes``); auto picks by what this
        layer trains with them (``parameters_per_layer``), not by a1*a2 + b1*b2 alone."""
        return resolve_factor_shapes(
            self.a_shape, self.b_shape, d_out, d_in, where, self.budget, terms=self.terms,
            count=lambda a, b: self.parameters_per_layer(a, b, d_out), inner_rank=self.inner_rank,
            decompose_factor=self.decompose_factor,
        )  # fmt: skip

    def layer_for(
        self, name: str, linear: nn.Linear, layer_type: type[KronLinear] = KronLinear
    ) -> KronLinear:
        """The layer for host ``linear`` (at ``name``), of ``layer_type``, its modules named by this method."""
        a_shape, b_shape = self.shapes_for(linear.out_features, linear.in_features, name)
        if self.init == "svd":
            for a, b in per_term_shapes(a_shape, b_shape, self.terms):
                most = min(a[0] * a[1], b[0] * b[1])
                if self.terms > most:
                    raise AdapterError(
                        f"adapter.init=svd: {name} with A {a}, B {b} has at most {most} Kronecker terms; lower adapter.terms."
                    )
        return layer_type(
            a_shape, b_shape, self.effective_scale, self.init, terms=self.terms, inner_rank=self.inner_rank,
            decompose=self.decompose, learn_scale=self.learn_scale, weight_decompose=self.weight_decompose,
            base_weight=dequantized_weight(linear), method=self.name,
        )  # fmt: skip
