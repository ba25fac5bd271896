"""Kronecker kernels: forward+backward time and peak memory of one whole adapted d x d layer (frozen
linear + update) on a 32 x 128 token batch, for KronA (the project's layer: base and update in one
GEMM, src/adapters/kron/fused.py) against (a) the same update through a materialised torch.kron,
(b) PEFT's LoKr layer with full factors, (c) LoRA at the nearest equal parameter count and (d) the
frozen linear alone; plus KronA's factorised update added to the layer's output by a forward hook
(kron_matmul, the layer before fusing) for reference.

``python -m bench.kernels`` (default grid: the paper's A=(p,q), B=(q,p) pairs for d = 768 and 1024);
``--grid all``: every valid (a1,a2),(b1,b2) except the whole-matrix ones (1,1)/(d,d), (d,d)/(1,1);
``--family``: the KronA family's variants (terms 2 and 4, inner ranks, both factors low-rank) and every other
method on the Kronecker linear layer at the target shapes against PEFT LoKr at the same settings
(bench/kron_family.py), table ``kernels_family``.
"""

from __future__ import annotations

import argparse
import itertools
import statistics
from collections.abc import Callable

import torch
from peft.tuners.lokr import LoKrConfig
from peft.tuners.lokr.layer import Linear as LoKrLinear
from torch import nn
from torch.profiler import ProfilerActivity, profile

from src.adapters import Site
from src.adapters.core.placement import install_fused, install_parallel
from src.adapters.kron import factorisations, valid_factor_shapes
from src.adapters.methods.krona import KronA
from src.adapters.methods.lora import LoRA

from . import kron_family
from .common import (
    configure_threads,
    device,
    interleaved_samples,
    paired_median_difference,
    synchronize,
    write_table,
)

TARGET_SHAPES = {((32, 24), (24, 32)), ((24, 32), (32, 24))}
Shape = tuple[tuple[int, int], tuple[int, int]]


class DenseKronUpdate(nn.Module):
    """Baseline (a): the same update, building ``kron(A, B)`` every forward."""

    def __init__(self, linear: nn.Linear, a_shape, b_shape) -> None:
        super().__init__()
        self.linear = linear
        self.A = nn.Parameter(torch.randn(*a_shape) * 0.02)
        self.B = nn.Parameter(torch.randn(*b_shape) * 0.02)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.linear(x) + nn.functional.linear(x, torch.kron(self.A, self.B))


def frozen_linear(d: int) -> nn.Linear:
    return nn.Linear(d, d).requires_grad_(False)


def installed(linear: nn.Linear, adapter: nn.Module, install=install_parallel) -> nn.Module:
    """The adapter on the linear layer the way the framework installs it (src/adapters/core/placement.py)."""
    holder = nn.Module()
    holder.add_module("layer", linear)
    install(holder, Site("layer", "layer", linear.out_features), adapter)
    return holder.layer


def peft_lokr(linear: nn.Linear, a_shape, b_shape) -> nn.Module:
    """PEFT's LoKr layer with full (not low-rank) factors set to exactly these shapes."""
    d = linear.in_features
    layer = LoKrLinear(linear, "default", config=LoKrConfig(r=d, alpha=d, decompose_both=False), r=d, alpha=d)
    layer.lokr_w1["default"] = nn.Parameter(torch.randn(*a_shape) * 0.02)
    layer.lokr_w2["default"] = nn.Parameter(torch.randn(*b_shape) * 0.02)
    return layer


def lora_rank_for(params: int, d: int) -> int:
    return max(1, round(params / (2 * d)))


def build_layers(d: int, a_shape, b_shape, where: torch.device) -> dict[str, nn.Module]:
    params = a_shape[0] * a_shape[1] + b_shape[0] * b_shape[1]
    krona, factorised = KronA(a_shape, b_shape), KronA(a_shape, b_shape)
    nn.init.normal_(krona.B, std=0.02)  # non-zero, as after some training
    factorised.load_state_dict(krona.state_dict())
    lora = LoRA(d, d, lora_rank_for(params, d), alpha=lora_rank_for(params, d))
    nn.init.normal_(lora.B, std=0.02)
    layers = {
        "krona": installed(frozen_linear(d), krona, install_fused),
        "krona_factorised": installed(frozen_linear(d), factorised),
        "torch_kron": DenseKronUpdate(frozen_linear(d), a_shape, b_shape),
        "peft_lokr": peft_lokr(frozen_linear(d), a_shape, b_shape),
        "lora": installed(frozen_linear(d), lora),
        "linear": frozen_linear(d),
    }
    return {name: layer.to(where) for name, layer in layers.items()}


def train_step(layer: nn.Module, x: torch.Tensor, upstream: torch.Tensor) -> Callable[[], None]:
    """Forward, then the gradients a training step needs: the input's and the trainable parameters'."""
    wrt = [x, *(p for p in layer.parameters() if p.requires_grad)]

    def step() -> None:
        torch.autograd.grad(layer(x), wrt, upstream)

    return step


def peak_memory_mib(step: Callable[[], None], where: torch.device) -> float:
    """Peak bytes allocated during one step beyond what was allocated before it."""
    if where.type == "cuda":
        synchronize(where)
        before = torch.cuda.memory_allocated(where)
        torch.cuda.reset_peak_memory_stats(where)
        step()
        synchronize(where)
        return (torch.cuda.max_memory_allocated(where) - before) / 2**20
    with profile(activities=[ProfilerActivity.CPU], profile_memory=True) as prof:
        step()
    events = sorted(prof.events(), key=lambda e: e.time_range.start)
    return max(itertools.accumulate(e.self_cpu_memory_usage for e in events), default=0) / 2**20


def grid(d: int, which: str) -> list[Shape]:
    if which == "paper":
        return [((p, q), (q, p)) for p, q in factorisations(d)]
    whole = {((1, 1), (d, d)), ((d, d), (1, 1))}
    return [s for s in valid_factor_shapes(d, d) if s not in whole]


def measure_shape(d: int, shape: Shape, tokens: tuple[int, int], rounds: int, where: torch.device) -> dict:
    a_shape, b_shape = shape
    torch.manual_seed(0)
    layers = build_layers(d, a_shape, b_shape, where)
    x = torch.randn(*tokens, d, device=where, requires_grad=True)
    upstream = torch.randn(*tokens, d, device=where)
    steps = {name: train_step(layer, x, upstream) for name, layer in layers.items()}
    samples = interleaved_samples(steps, where, rounds=rounds)
    ms = {name: 1e3 * statistics.median(t) for name, t in samples.items()}
    memory = {name: peak_memory_mib(step, where) for name, step in steps.items()}
    overhead = {name: 1e3 * paired_median_difference(t, samples["linear"]) for name, t in samples.items()}
    row = {
        "d": d,
        "A": str(a_shape),
        "B": str(b_shape),
        "params": a_shape[0] * a_shape[1] + b_shape[0] * b_shape[1],
        "lora_rank": lora_rank_for(a_shape[0] * a_shape[1] + b_shape[0] * b_shape[1], d),
        **{f"{name}_ms": value for name, value in ms.items()},
        **{f"{name}_overhead_ms": overhead[name] for name in ms if name != "linear"},
        **{f"{name}_peak_mib": value for name, value in memory.items()},
        "krona_vs_torch_kron": statistics.median(
            k / t for k, t in zip(samples["krona"], samples["torch_kron"], strict=True)
        ),
        "krona_not_slower_than_torch_kron": paired_median_difference(samples["krona"], samples["torch_kron"])
        <= 0,
        "target_shape": shape in TARGET_SHAPES,
    }
    if shape in TARGET_SHAPES:
        row["overhead_vs_lokr"] = overhead["krona"] / overhead["peft_lokr"]
        row["overhead_vs_lora"] = overhead["krona"] / overhead["lora"]
        row["lokr_target_holds"] = row["overhead_vs_lokr"] <= 1 / 3
        row["lora_target_holds"] = row["overhead_vs_lora"] <= 1.0
        # The same question asked round by round: load that hits a whole round cancels in a paired difference.
        row["krona_minus_lora_ms"] = 1e3 * paired_median_difference(samples["krona"], samples["lora"])
        row["rounds_krona_not_slower_than_lora"] = sum(
            k <= lo for k, lo in zip(samples["krona"], samples["lora"], strict=True)
        ) / len(samples["krona"])
    return row


COLUMNS = [
    "d", "A", "B", "params", "lora_rank", "linear_ms", "krona_ms", "krona_factorised_ms", "torch_kron_ms",
    "peft_lokr_ms", "lora_ms", "krona_overhead_ms", "krona_factorised_overhead_ms", "torch_kron_overhead_ms",
    "peft_lokr_overhead_ms", "lora_overhead_ms",
    "krona_vs_torch_kron", "krona_not_slower_than_torch_kron", "overhead_vs_lokr", "overhead_vs_lora",
    "krona_minus_lora_ms", "rounds_krona_not_slower_than_lora",
    "linear_peak_mib", "krona_peak_mib", "krona_factorised_peak_mib", "torch_kron_peak_mib", "peft_lokr_peak_mib", "lora_peak_mib",
]  # fmt: skip


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dims", type=int, nargs="+", default=[768, 1024])
    parser.add_argument("--grid", choices=("paper", "all"), default="paper")
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--seq-len", type=int, default=128)
    parser.add_argument("--rounds", type=int, default=3, help="timed rounds per shape (median)")
    parser.add_argument(
        "--target-rounds", type=int, default=31, help="rounds for the (32,24)/(24,32) target shapes"
    )
    parser.add_argument("--only-targets", action="store_true", help="time only the target shapes")
    parser.add_argument(
        "--family", action="store_true", help="the KronA family's rows against PEFT LoKr (kernels_family)"
    )
    parser.add_argument(
        "--variants", nargs="+", choices=sorted(kron_family.VARIANTS), default=list(kron_family.VARIANTS)
    )
    args = parser.parse_args(argv)
    configure_threads()
    where = device()
    if args.family:
        family_table(args, where)
        return
    rows = []
    for d in args.dims:
        for shape in [s for s in grid(d, args.grid) if s in TARGET_SHAPES or not args.only_targets]:
            rounds = args.target_rounds if shape in TARGET_SHAPES else args.rounds
            row = measure_shape(d, shape, (args.batch, args.seq_len), rounds, where)
            rows.append(row)
            print(f"d={d} A={shape[0]} B={shape[1]}: krona {row['krona_ms']:.1f} ms, torch.kron "
                  f"{row['torch_kron_ms']:.1f}, lokr {row['peft_lokr_ms']:.1f}, lora {row['lora_ms']:.1f}, "
                  f"linear {row['linear_ms']:.1f}", flush=True)  # fmt: skip
    slower = [f"d={r['d']} {r['A']}/{r['B']}" for r in rows if not r["krona_not_slower_than_torch_kron"]]
    targets = [r for r in rows if r["target_shape"]]
    summary = {
        "shapes": len(rows),
        "krona_slower_than_torch_kron": slower,
        "median_krona_vs_torch_kron": statistics.median(r["krona_vs_torch_kron"] for r in rows)
        if rows
        else None,
        "target_rows": [
            {
                k: r[k]
                for k in (
                    "A",
                    "B",
                    "overhead_vs_lokr",
                    "overhead_vs_lora",
                    "krona_minus_lora_ms",
                    "rounds_krona_not_slower_than_lora",
                )
            }
            for r in targets
        ],
    }
    notes = [
        f"whole adapted {args.batch}x{args.seq_len}-token layer, forward + gradients of input and trainable "
        f"parameters; median of {args.rounds} interleaved rounds ({args.target_rounds} for the target shapes) "
        "after one warm-up, candidates rotated each round",
        "overhead = median over rounds of (time - frozen linear alone in the same round); krona_vs_torch_kron likewise per round; peak = extra memory allocated during one step "
        "(CPU: torch.profiler allocation records; CUDA: max_memory_allocated)",
        f"grid '{args.grid}': " + ("A=(p,q), B=(q,p) for every p*q = d" if args.grid == "paper" else
                                   "every valid shape except (1,1)/(d,d) and (d,d)/(1,1)"),
        f"KronA slower than torch.kron at: {', '.join(slower) or 'no shape'}",
    ]  # fmt: skip
    write_table(
        f"kernels_{args.grid}",
        "Kronecker kernels: adapted layer forward+backward",
        rows,
        COLUMNS,
        notes,
        summary=summary,
    )


def family_table(args, where: torch.device) -> None:
    rows = []
    for d in args.dims:
        for shape in [s for s in grid(d, "paper") if s in TARGET_SHAPES]:
            for method, variant in kron_family.family_rows(args.variants):
                row = kron_family.measure_variant(
                    d,
                    shape,
                    method,
                    variant,
                    (args.batch, args.seq_len),
                    args.target_rounds,
                    where,
                    frozen_linear,
                )
                rows.append(row)
                print(f"d={d} A={shape[0]} B={shape[1]} {method} {variant}: overhead {row['krona_overhead_ms']:.2f} ms, "
                      f"peft lokr {row['peft_lokr_overhead_ms']:.2f} ms", flush=True)  # fmt: skip
    notes = [
        f"whole adapted {args.batch}x{args.seq_len}-token layer, forward + gradients of input and trainable parameters; "
        f"median of {args.target_rounds} interleaved rounds after one warm-up",
        "krona = the method's layer (KronA's variants, then every other method on the Kronecker linear layer at its "
        "defaults) as the framework installs it; peft_lokr = PEFT's LoKr layer holding the same factors (rank-r w2 / w1 "
        "for inner ranks; k terms = k LoKr adapters active together); same_as_lokr: whether it computes the same function",
        "overhead = median over rounds of (time - frozen linear alone in the same round)",
    ]
    write_table(
        "kernels_family",
        "Kronecker family kernels: adapted layer forward+backward",
        rows,
        kron_family.COLUMNS,
        notes,
    )


if __name__ == "__main__":
    main()
