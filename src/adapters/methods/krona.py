"""KronA (Edalati et al.) and its family, one mergeable layer on chosen linear layers (query/value by default):
``y = x (W + dW)^T + b`` with ``dW = s * sum_i kron(A_i, B_i)``, every option of the Kronecker linear layer
(``src/adapters/kron/layer.py``: terms, inner ranks, learnable scale, DoRA's weight_decompose, SVD inits).

LoKr (``adapter=lokr``, a variant; LyCORIS, PEFT ``tuners/lokr``) is KronA with a low-rank factor inside the
product, ``dW = (alpha / r) * kron(A, B_a B_b)``, set up as PEFT does: PEFT's factor shapes (``a_shape=lokr``),
rank r = ``inner_rank`` = 8, scale alpha / r, A zero and B's parts Kaiming; every KronA option applies.

Both export to PEFT LoKr (``to_peft``): LoKr's ``w1`` is A and ``w2`` is B with ``alpha = s * r`` (a learned or
per-layer scale is folded into w1 instead); without an inner rank nothing is decomposed (``r`` at least half of
B's larger side, which is when LoKr keeps ``w2`` whole), with one ``r`` is the inner rank and ``decompose=both``
is ``decompose_both``. LoKr picks its factor shapes itself, from one ``decompose_factor`` for every layer; shapes
it cannot produce are refused, naming the ones it can. A sum of terms or a DoRA split has no LoKr form.
"""

from __future__ import annotations

from dataclasses import dataclass

from torch import nn

from ..core.placement import Placement, install_fused
from ..core.protocol import Adapter, AdapterError
from ..core.registry import PeftForm, register, register_variant
from ..core.targets import wrap_linears
from ..kron.config import KronLinearConfig
from ..kron.layer import KronLinear
from ..kron.shapes import LOKR_SHAPES, lokr_factor_shapes


class KronA(KronLinear):
    method = "krona"


@dataclass
class KronAConfig(KronLinearConfig):
    """KronA's settings; conf/adapter/krona.yaml says what each does."""


@dataclass
class LoKrConfig(KronAConfig):
    """LoKr's: KronA's with PEFT's defaults and scale, ``alpha / r`` unless ``scale`` is set."""

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


def _lokr_factor_for(layers: dict[str, KronA], hosts: dict[str, nn.Module]) -> int:
    """The one ``decompose_factor`` that gives every layer its KronA shapes, or a one-line refusal."""
    candidates = None
    for name, adapter in layers.items():
        d_out, d_in = hosts[name].out_features, hosts[name].in_features
        wanted = tuple(tuple(shape) for shape in adapter.term_shapes[0])
        fits = {
            f for f in (-1, *range(1, max(d_out, d_in) + 1)) if lokr_factor_shapes(d_out, d_in, f) == wanted
        }
        candidates = fits if candidates is None else candidates & fits
        if not candidates:
            expressible = sorted(
                {lokr_factor_shapes(d_out, d_in, f) for f in (-1, *range(1, max(d_out, d_in) + 1))}
            )
            raise AdapterError(
                f"PEFT LoKr cannot hold KronA's A={list(wanted[0])} B={list(wanted[1])} on {name} ({d_out}x{d_in}) "
                "with one decompose_factor for all layers; the (A, B) shapes LoKr can give this layer: "
                + ", ".join(f"{list(a)}/{list(b)}" for a, b in expressible)
                + ". Train KronA with one of these (adapter.a_shape, adapter.b_shape) to export it."
            )
    return -1 if -1 in candidates else min(candidates)


def to_peft(layers: dict[str, KronA], hosts: dict[str, nn.Module]) -> PeftForm:
    """KronA / LoKr as one PEFT LoKr adapter. One fixed scale shared by every layer is LoKr's ``alpha / r``;
    a learned or per-layer scale is folded into each layer's w1 (then ``alpha = r``). An inner rank becomes
    LoKr's ``r``, ``decompose=both`` its ``decompose_both``. A sum of terms or a DoRA split has no LoKr form
    and is refused."""
    for name, adapter in layers.items():
        if adapter.terms > 1 or adapter.magnitude is not None:
            what = f"terms={adapter.terms}" if adapter.terms > 1 else "weight_decompose=true"
            raise AdapterError(
                f"PEFT LoKr holds one Kronecker term without a magnitude split; {name} has {what}: "
                "export it with save_adapter (kronlab's format), or merge it (merge_and_unload) and save the model."
            )
    factor = _lokr_factor_for(layers, hosts)
    ranks = {a.inner_rank for a in layers.values()}
    both = {a.decomposed["A"] for a in layers.values()}
    if len(ranks) > 1 or len(both) > 1:
        raise AdapterError(
            f"export_peft writes one LoKr rank for all layers; this model has {sorted(map(str, ranks))}."
        )
    rank, decompose_both = ranks.pop(), both.pop()
    r = (
        rank if rank is not None else max(max(a.term_shapes[0][1]) for a in layers.values())
    )  # whole w2: r >= max(B)/2
    learned = any(isinstance(a.scale, nn.Parameter) for a in layers.values())
    fixed = {a.scale for a in layers.values()}
    shared = fixed.pop() if not learned and len(fixed) == 1 else None
    alpha = r * (shared if shared is not None else 1.0)
    settings = {"r": r, "alpha": float(alpha), "decompose_factor": factor, "decompose_both": decompose_both}
    settings |= {"rank_dropout": 0.0, "module_dropout": 0.0}

    def fill(layer: nn.Module, adapter: KronA) -> None:
        scale = 1.0 if shared is not None else float(adapter.scale)
        for letter, peft_name, scaled in (("A", "w1", scale), ("B", "w2", 1.0)):
            parts = adapter.factor_parts(letter, 0)
            whole = getattr(layer, f"lokr_{peft_name}")
            if "default" in whole:
                whole["default"].copy_(adapter.factor(letter, 0) * scaled)
            elif len(parts) == 2:
                getattr(layer, f"lokr_{peft_name}_a")["default"].copy_(parts[0] * scaled)
                getattr(layer, f"lokr_{peft_name}_b")["default"].copy_(parts[1])
            else:
                raise AdapterError(
                    f"peft built a decomposed LoKr {peft_name} for {adapter._host_name}: "
                    f"cannot hold KronA's whole {letter}."
                )

    return "LOKR", settings, fill


@register("krona", KronAConfig, starts_as="base", to_peft=to_peft)
def apply(model: nn.Module, cfg: KronAConfig, placement: Placement) -> list[Adapter]:
    """KronA: Kronecker update(s) parallel to chosen weight matrices (query/value by default); mergeable."""
    return wrap_linears(
        model, placement, cfg.targets, lambda n, linear: cfg.layer_for(n, linear, KronA), install_fused
    )


register_variant(
    "lokr",
    of="krona",
    summary="LoKr: KronA with B (or A and B) a rank-r product, scale alpha / r, PEFT's shapes and init; mergeable.",
    config=LoKrConfig,
)
