"""The Kronecker family's kernel rows (``python -m bench.kernels --family``): KronA's variants (k terms, inner
ranks, both factors low-rank) and every other registered method built on the Kronecker linear layer (its
config a ``KronLinearConfig``: lokr, and any new one, at its own defaults), each as the framework installs it
against PEFT's LoKr layer holding the same factors: the same factor shapes, LoKr's w2 (and with
``decompose=both`` w1) as the same rank-r product, and k terms as k LoKr adapters active together (PEFT has no
multi-term LoKr; its layer sums its active adapters, each building its own d_out x d_in product every forward).
``same_as_lokr`` says whether that LoKr layer computes the method's function too (a method that adds more than
``s * sum_i kron(A_i, B_i)`` is timed against the same Kronecker factors alone)."""

from __future__ import annotations

import statistics

import torch
from peft.tuners.lokr import LoKrConfig
from peft.tuners.lokr.layer import Linear as LoKrLinear
from torch import nn

from src.adapters import METHODS, Placement, build_config, get_method
from src.adapters.kron import KronLinear, KronLinearConfig

from .common import interleaved_samples, paired_median_difference

VARIANTS = {
    "terms2": {"terms": 2},
    "terms4": {"terms": 4},
    "rank4": {"inner_rank": 4},
    "rank16": {"inner_rank": 16},
    "rank4_both": {"inner_rank": 4, "decompose": "both"},
    "terms2_rank4": {"terms": 2, "inner_rank": 4},
}
DEFAULTS = "defaults"  # the row of a family method other than krona: its own defaults at the row's shapes
LOKR_PARTS = {"A": ("lokr_w1", "lokr_w1_a", "lokr_w1_b"), "B": ("lokr_w2", "lokr_w2_a", "lokr_w2_b")}


def family_methods() -> list[str]:
    """The registered methods that install the Kronecker linear layer: the ones these rows time."""
    return sorted(name for name, method in METHODS.items() if issubclass(method.config, KronLinearConfig))


def family_rows(variants=None) -> list[tuple[str, str]]:
    """(method, variant) for every row: krona's variants, then each other family method at its defaults."""
    krona = [("krona", variant) for variant in (variants or VARIANTS)]
    return krona + [(method, DEFAULTS) for method in family_methods() if method != "krona"]


def method_layer(method: str, linear: nn.Linear, a_shape, b_shape, settings: dict) -> nn.Module:
    """``linear`` with the method's layer installed by the method's own ``apply`` (``install_fused``), its
    parameters non-zero as after some training; returns the layer (the holder's child)."""
    holder = nn.Module()
    holder.add_module("layer", linear)
    cfg = build_config({"name": method, "a_shape": list(a_shape), "b_shape": list(b_shape), **settings})
    placement = Placement("bench", linear.in_features, ("layer",), (), (), ())
    (layer,) = get_method(method).apply(holder, cfg, placement)
    with torch.no_grad():
        for param in layer.parameters():
            param.normal_(std=0.02)
    return holder.layer


def peft_lokr_same(linear: nn.Linear, krona: KronLinear) -> nn.Module:
    """PEFT's LoKr layer holding exactly ``krona``'s factors (copies), one adapter per term, scale krona's."""
    r = krona.inner_rank or max(linear.in_features, linear.out_features)
    names = [f"term{i}" for i in range(krona.terms)]
    config = LoKrConfig(r=r, alpha=r * float(krona.scale), decompose_both=krona.decomposed["A"])
    layer = LoKrLinear(linear, names[0], config=config, r=r, alpha=r * float(krona.scale))
    for term, name in enumerate(names):
        if term:
            layer.update_layer(name, r, r * float(krona.scale), config)
        for letter, (whole, first, second) in LOKR_PARTS.items():
            for key in (whole, first, second):
                if name in getattr(layer, key):
                    del getattr(layer, key)[name]
            parts = krona.factor_parts(letter, term)
            keys = (whole,) if len(parts) == 1 else (first, second)
            for key, part in zip(keys, parts, strict=True):
                getattr(layer, key)[name] = nn.Parameter(part.detach().clone())
    layer.set_adapter(names)
    return layer.to(linear.weight.device)


def measure_variant(
    d: int, shape, method: str, variant: str, tokens, rounds: int, where, frozen_linear
) -> dict:
    (a_shape, b_shape), settings = shape, VARIANTS.get(variant, {}) if method == "krona" else {}
    torch.manual_seed(0)
    krona_layer = method_layer(method, frozen_linear(d), a_shape, b_shape, settings).to(where)
    krona = getattr(krona_layer, method)
    same_base = frozen_linear(d).to(where)  # the host's weights, without the adapter
    same_base.load_state_dict({"weight": krona_layer.weight, "bias": krona_layer.bias})
    layers = {
        "krona": krona_layer,
        "peft_lokr": peft_lokr_same(same_base, krona),
        "linear": frozen_linear(d).to(where),
    }
    x = torch.randn(*tokens, d, device=where, requires_grad=True)
    upstream = torch.randn(*tokens, d, device=where)

    def step(layer):
        wrt = [x, *(p for p in layer.parameters() if p.requires_grad)]
        return lambda: torch.autograd.grad(layer(x), wrt, upstream)

    samples = interleaved_samples({name: step(layer) for name, layer in layers.items()}, where, rounds=rounds)
    overhead = {
        name: 1e3 * paired_median_difference(samples[name], samples["linear"])
        for name in ("krona", "peft_lokr")
    }
    with torch.no_grad():
        same = torch.allclose(layers["peft_lokr"](x), krona_layer(x), rtol=1e-4, atol=1e-5)
    return {
        "d": d,
        "A": str(a_shape),
        "B": str(b_shape),
        "method": method,
        "variant": variant,
        "params": sum(p.numel() for p in krona.parameters()),
        **{f"{name}_ms": 1e3 * statistics.median(t) for name, t in samples.items()},
        **{f"{name}_overhead_ms": value for name, value in overhead.items()},
        "overhead_vs_lokr": overhead["krona"] / overhead["peft_lokr"] if overhead["peft_lokr"] > 0 else None,
        "krona_fused": krona.fuses(krona_layer, x),
        "same_as_lokr": same,
    }


COLUMNS = [
    "d", "A", "B", "method", "variant", "params", "linear_ms", "krona_ms", "peft_lokr_ms", "krona_overhead_ms",
    "peft_lokr_overhead_ms", "overhead_vs_lokr", "krona_fused", "same_as_lokr",
]  # fmt: skip
