"""The KronA family's kernel rows (``python -m bench.kernels --family``): each variant (k terms, inner
ranks, both factors low-rank) as the framework installs it (the fused layer) against PEFT's LoKr layer at
the same settings: the same factor shapes, LoKr's w2 (and with ``decompose=both`` w1) as the same rank-r
product, and k terms as k LoKr adapters active together (PEFT has no multi-term LoKr; its layer sums its
active adapters, each building its own d_out x d_in product every forward)."""

from __future__ import annotations

import statistics

import torch
from peft.tuners.lokr import LoKrConfig
from peft.tuners.lokr.layer import Linear as LoKrLinear
from torch import nn

from src.adapters.krona import KronA
from src.adapters.placement import install_fused

from .common import interleaved_samples, paired_median_difference

VARIANTS = {
    "terms2": {"terms": 2},
    "terms4": {"terms": 4},
    "rank4": {"inner_rank": 4},
    "rank16": {"inner_rank": 16},
    "rank4_both": {"inner_rank": 4, "decompose": "both"},
    "terms2_rank4": {"terms": 2, "inner_rank": 4},
}
LOKR_PARTS = {"A": ("lokr_w1", "lokr_w1_a", "lokr_w1_b"), "B": ("lokr_w2", "lokr_w2_a", "lokr_w2_b")}


def krona_variant(linear: nn.Linear, a_shape, b_shape, settings: dict, installed) -> KronA:
    krona = KronA(a_shape, b_shape, **settings)
    with torch.no_grad():  # non-zero, as after some training
        for param in krona.parameters():
            param.normal_(std=0.02)
    return installed(linear, krona, install_fused)


def peft_lokr_same(linear: nn.Linear, krona: KronA) -> nn.Module:
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
    d: int, shape, variant: str, tokens, rounds: int, where, frozen_linear, installed
) -> dict:
    (a_shape, b_shape), settings = shape, VARIANTS[variant]
    torch.manual_seed(0)
    krona_layer = krona_variant(frozen_linear(d), a_shape, b_shape, settings, installed).to(where)
    krona = krona_layer.krona
    layers = {
        "krona": krona_layer,
        "peft_lokr": peft_lokr_same(frozen_linear(d).to(where), krona),
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
    return {
        "d": d,
        "A": str(a_shape),
        "B": str(b_shape),
        "variant": variant,
        "params": sum(p.numel() for p in krona.parameters()),
        **{f"{name}_ms": 1e3 * statistics.median(t) for name, t in samples.items()},
        **{f"{name}_overhead_ms": value for name, value in overhead.items()},
        "overhead_vs_lokr": overhead["krona"] / overhead["peft_lokr"] if overhead["peft_lokr"] > 0 else None,
        "krona_fused": krona.fuses(krona_layer, x),
    }


COLUMNS = [
    "d", "A", "B", "variant", "params", "linear_ms", "krona_ms", "peft_lokr_ms", "krona_overhead_ms",
    "peft_lokr_overhead_ms", "overhead_vs_lokr", "krona_fused",
]  # fmt: skip
