"""KronA and its family, one mergeable layer: ``y = x (W + dW)^T + b`` with

    dW = s * sum_i kron(A_i, B_i)                    (``terms`` = k; KAdaptation / CDKA for k > 1)

each factor kept whole or as a rank-r product (``inner_rank``: B_i = B_i_a B_i_b, and with
``decompose=both`` also A_i = A_i_a A_i_b: LoKr), a fixed or learnable ``s`` (``learn_scale``: LyCORIS'
``use_scalar``), and optionally DoRA's split into a magnitude and a direction (``weight_decompose``):
``W' = m * (W + dW) / ||W + dW||`` row by row (norm over the inputs of each output unit).

Parameter names (state dicts, exports): term 0 keeps the paper's ``A``, ``B``; term i >= 1 is ``A_i``, ``B_i``;
a factor stored as a product is ``<name>_a`` (rows x r) times ``<name>_b`` (r x cols), e.g. ``B_a``, ``B_b``,
``B_1_a``; ``scale`` when learnable; ``magnitude`` (d_out) with ``weight_decompose``. For one term this is
PEFT LoKr's layout: A = lokr_w1 (or lokr_w1_a @ lokr_w1_b), B = lokr_w2 (or lokr_w2_a @ lokr_w2_b), s = alpha / r.

Initialisations (``init``): ``a_kaiming`` (the paper: A Kaiming-uniform, B zero; a product B_a B_b gets
B_a Kaiming, B_b zero, as LyCORIS), ``b_kaiming`` (the reverse; a product A_a A_b gets A_a zero, A_b
Kaiming, as PEFT LoKr), both with dW = 0 at step 0; ``both_kaiming`` (every factor Kaiming: with
``learn_scale`` and ``scale=0`` LyCORIS' ``use_scalar`` start, dW = 0 through s; with s != 0 not the base model); ``svd_a``: each A_i from the nearest Kronecker sum
of the frozen W (below), each B_i zero, so dW = 0 too; ``svd``: both factors from it, so
``dW = s * sum_i kron(A_i, B_i)`` starts at W_k, the best Frobenius approximation of W by k Kronecker
terms of these shapes (Van Loan's rearrangement R(W), whose top-k singular triplets give
A_i = sqrt(sigma_i / s) mat(u_i), B_i = sqrt(sigma_i / s) mat(v_i), up to sign), and the layer starts at
W + W_k, NOT at the base model (``KronAConfig.starts_as_base_model`` says so). A factor stored as a
rank-r product takes the rank-r truncated SVD of its whole value, so with an inner rank W_k is only
approximated.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from ._kron_shapes import (
    AUTO,
    INITS,
    LOKR_SHAPES,
    KronFactorsConfig,
    check_factor_shapes,
    is_shape_list,
    kaiming_,
    lokr_factor_shapes,
    per_term_shapes,
)
from .base import Adapter, AdapterError
from .kron import (
    balanced_factor_shapes,
    factorised_cost,
    kron_matmul,
    nearest_kronecker_terms,
    shapes_closest_to_budget,
    stored_factor_count,
)
from .kron_linear import fused_weight, kron_linear, kron_sum
from .placement import Placement, install_fused, wrap_linears
from .registry import register

KRONA_INITS = (*INITS, "both_kaiming", "svd_a", "svd")
DECOMPOSE = ("b", "both")


def factor_name(letter: str, term: int) -> str:
    return letter if term == 0 else f"{letter}_{term}"


def low_rank_split(full: torch.Tensor, rank: int) -> tuple[torch.Tensor, torch.Tensor]:
    """(rows x r, r x cols) factors whose product is the rank-r truncated SVD of ``full``."""
    U, S, Vh = torch.linalg.svd(full.to(torch.float64), full_matrices=False)
    U, S, Vh = U[:, :rank], S[:rank].sqrt(), Vh[:rank]
    pad = rank - S.shape[0]  # rank above min(rows, cols): the extra directions stay zero
    first = F.pad(U * S, (0, pad))
    second = F.pad(S[:, None] * Vh, (0, 0, 0, pad))
    return first.to(full.dtype), second.to(full.dtype)


class KronA(Adapter):
    method = "krona"
    mergeable = True

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
        weight_decompose: bool = False,
        base_weight: torch.Tensor | None = None,
    ) -> None:
        """``a_shape``/``b_shape``: one (rows, cols) pair for every term, or one pair per term.
        ``base_weight`` (the frozen W) is needed by the SVD initialisations and by ``weight_decompose``."""
        super().__init__()
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
        needs_weight = init.startswith("svd") or weight_decompose
        if needs_weight and base_weight is None:
            raise AdapterError(
                f"KronA init={init!r} / weight_decompose needs the frozen weight (base_weight)."
            )
        with torch.no_grad():
            self._initialise(init, base_weight)
        self.magnitude = None
        if weight_decompose:
            with torch.no_grad():
                norms = torch.linalg.vector_norm(
                    fused_weight(base_weight.detach(), self.factors(), self.scale), dim=1
                )
            self.magnitude = nn.Parameter(norms.to(base_weight.dtype))

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

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """The update alone (``weight_decompose`` has none: its output is only defined with the layer's)."""
        if self.magnitude is not None:
            raise AdapterError(
                "KronA with weight_decompose computes its layer itself (host_forward); it has no separate update."
            )
        return self.update(x)

    def host_forward(self, x: torch.Tensor) -> torch.Tensor:
        """The host linear layer's output with the update (installed as its forward by ``install_fused``)."""
        host = self._host
        base_forward = type(host).forward
        if not self.active:
            return base_forward(host, x)
        factors = self.factors()
        fused = self.fuses(host, x)
        if self.magnitude is None:
            if fused:
                return kron_linear(x, host.weight, host.bias, factors, self.scale)
            return base_forward(host, x) + self.update(x, factors)
        if fused:
            z = kron_linear(x, host.weight, None, factors, self.scale)
        else:
            z = F.linear(x, host.weight) + self.update(x, factors)
        y = z * self.direction_scale(factors).to(z.dtype)
        return y if host.bias is None else y + host.bias

    def direction_scale(self, factors: list[torch.Tensor]) -> torch.Tensor:
        """DoRA's ``m / ||W + dW||`` per output unit. The norms need W + dW itself: one more d_out x d_in pass per
        call, and one for their gradient (autograd through the products), never per token. The norm is not
        detached (DoRA's paper detaches it to save memory): the gradients are the formula's exact ones."""
        norms = torch.linalg.vector_norm(fused_weight(self._host.weight, factors, self.scale), dim=1)
        return self.magnitude / norms

    def fuses(self, host: nn.Module, x: torch.Tensor) -> bool:
        """Fold the update into the layer's GEMM when building the k products costs less than the factorised
        update over these tokens, in full precision only: under autocast or in half precision a small
        update added to W would be rounded away at W's scale, so there it stays a separate term. With
        ``weight_decompose`` the norms build W + dW every call anyway, so full precision always fuses."""
        if type(host).forward is not nn.Linear.forward or torch.is_autocast_enabled(x.device.type):
            return False
        first = self.factor_parts("A", 0)[0]
        if not (x.dtype == host.weight.dtype == first.dtype and x.dtype in (torch.float32, torch.float64)):
            return False
        if self.magnitude is not None:
            return True
        tokens = x.numel() // x.shape[-1]
        per_token = sum(min(factorised_cost(a, b)) for a, b in self.term_shapes)
        return tokens * per_token >= self.terms * host.weight.numel()

    def delta_weight(self) -> torch.Tensor:
        factors = self.factors()
        if self.magnitude is None:
            return self.scale * kron_sum(factors)
        weight = self.host_weight()
        merged = self.direction_scale(factors)[:, None] * fused_weight(weight, factors, self.scale)
        return merged - weight

    def resolved_settings(self) -> dict:
        """The shapes as the config takes them: one pair when every term shares it, else one pair per term."""
        a_shapes = [list(a) for a, _ in self.term_shapes]
        b_shapes = [list(b) for _, b in self.term_shapes]
        if len(set(self.term_shapes)) == 1:
            return {"a_shape": a_shapes[0], "b_shape": b_shapes[0]}
        return {"a_shape": a_shapes, "b_shape": b_shapes}

    def extra_repr(self) -> str:
        shared = len(set(self.term_shapes)) == 1
        shapes = ", ".join(f"A={a}, B={b}" for a, b in self.term_shapes[: 1 if shared else None])
        shapes = f"terms={self.terms}, {shapes}" if self.terms > 1 else shapes
        scale = "learnable" if isinstance(self.scale, nn.Parameter) else f"{self.scale:g}"
        rank = (
            f", inner_rank={self.inner_rank} ({'A and B' if self.decomposed['A'] else 'B'})"
            if self.inner_rank
            else ""
        )
        dora = ", weight_decompose" if self.magnitude is not None else ""
        return f"{shapes}, scale={scale}{rank}{dora}"


@dataclass
class KronAConfig(KronFactorsConfig):
    """KronA's settings; see the module docstring and conf/adapter/krona.yaml for what each does."""

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
        if self.init not in KRONA_INITS:
            raise AdapterError(
                f"adapter.init={self.init!r} is not one of {KRONA_INITS} (a_kaiming/b_kaiming: that factor "
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
        self._validate_shapes()

    def _validate_shapes(self) -> None:
        named = (None, AUTO, LOKR_SHAPES)
        if (self.a_shape in named or self.b_shape in named) and self.a_shape != self.b_shape:
            raise AdapterError(
                "set both adapter.a_shape and adapter.b_shape (like [32,24] and [24,32], or one pair per term), "
                "or both to auto (the valid shapes closest to adapter.budget, the most balanced ones when budget is "
                "null) or both to lokr (PEFT LoKr's factorisation)."
            )
        for key, value in (("a_shape", self.a_shape), ("b_shape", self.b_shape)):
            if value in named:
                continue
            if isinstance(value, str):
                raise AdapterError(
                    f"adapter.{key}={value!r}: use auto, lokr, or two positive integers like [32, 24]."
                )
            pairs = value if is_shape_list(value) else [value]
            if is_shape_list(value) and len(pairs) != self.terms:
                raise AdapterError(
                    f"adapter.{key} lists {len(pairs)} shapes for adapter.terms={self.terms}: give one per term, or one for all."
                )
            if any(len(pair) != 2 or any(int(v) < 1 for v in pair) for pair in pairs):
                raise AdapterError(
                    f"adapter.{key} must be two positive integers like [32, 24] (or one such pair per term), got {value!r}."
                )
        if is_shape_list(self.a_shape) != is_shape_list(self.b_shape):
            raise AdapterError(
                "adapter.a_shape and adapter.b_shape: give both as one pair, or both as one pair per term."
            )
        if self.budget is not None and self.budget < 1:
            raise AdapterError(
                f"adapter.budget={self.budget}: give a positive number of parameters per layer, or null."
            )
        if self.budget is not None and self.a_shape not in (None, AUTO):
            raise AdapterError(
                "adapter.budget only applies with a_shape=auto and b_shape=auto; drop one of them."
            )

    @property
    def effective_scale(self) -> float:
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
        """(a_shape, b_shape) for a d_out x d_in layer: checked explicit shapes (one pair or one per term), PEFT
        LoKr's factorisation (lokr), or auto: the shapes whose count for this variant is closest to ``budget``
        (the fewest parameters when there is no budget)."""
        if self.a_shape == LOKR_SHAPES:
            return lokr_factor_shapes(d_out, d_in, self.decompose_factor)
        if self.a_shape in (None, AUTO):
            count = lambda a, b: self.parameters_per_layer(a, b, d_out)  # noqa: E731
            if self.budget is None:
                return balanced_factor_shapes(d_out, d_in, count, self.inner_rank)
            return shapes_closest_to_budget(d_out, d_in, self.budget, count, self.inner_rank)
        for a, b in per_term_shapes(self.a_shape, self.b_shape, self.terms):
            check_factor_shapes(a, b, d_out, d_in, where)
        return self.a_shape, self.b_shape

    def adapter_for(self, name: str, linear: nn.Linear, adapter_type: type[KronA] = KronA) -> KronA:
        a_shape, b_shape = self.shapes_for(linear.out_features, linear.in_features, name)
        if self.init == "svd":
            for a, b in per_term_shapes(a_shape, b_shape, self.terms):
                most = min(a[0] * a[1], b[0] * b[1])
                if self.terms > most:
                    raise AdapterError(
                        f"adapter.init=svd: {name} with A {a}, B {b} has at most {most} Kronecker terms; lower adapter.terms."
                    )
        return adapter_type(
            a_shape, b_shape, self.effective_scale, self.init, terms=self.terms, inner_rank=self.inner_rank,
            decompose=self.decompose, learn_scale=self.learn_scale, weight_decompose=self.weight_decompose,
            base_weight=linear.weight,
        )  # fmt: skip


@register("krona", KronAConfig, starts_as="base")
def apply(model: nn.Module, cfg: KronAConfig, placement: Placement) -> list[Adapter]:
    """KronA: Kronecker update(s) parallel to chosen weight matrices (query/value by default); mergeable."""
    return wrap_linears(model, placement, cfg.targets, cfg.adapter_for, install=install_fused)
