"""Inference latency per method, normalised to the same backbone with its adapters disabled (KronA
paper appendix C / SPEC §5), on bert_base and t5_base (the papers' rows) and deberta_v3_base and qwen2_0_5b (a
DeBERTa-v3 and a grouped-query decoder row) with random weights. The measurement is the
latency callback's own function (src/callbacks/latency.py measure_latency): eval, no grad, batch 1,
sequence length 10, mergeable adapters merged, base and adapted alternating within every repeat.

``python -m bench.latency`` (short warm-up/iterations for a shared CPU); ``--protocol paper``: 150
warm-up + 200 timed iterations, 3 repeats, as in the paper.
"""

from __future__ import annotations

import argparse

import torch

from src.callbacks.latency import LatencySettings, measure_latency
from src.reporting.paper_results import LATENCY_RATIO

from .common import adapter_names, configure_threads, device, try_build, write_table

PAPER = {method: round(100 * ratio) for method, ratio in LATENCY_RATIO.items()}  # SPEC section 5, in percent
MERGED = ("krona", "lora")
BELOW_PAPER = ("krona_b", "krona_res")
PROTOCOLS = {"quick": LatencySettings(warmup=5, iters=15, repeats=3), "paper": LatencySettings()}


def target_holds(method: str, ratio_pct: float) -> bool | None:
    if method in MERGED:
        return abs(ratio_pct - 100) <= 3
    if method in BELOW_PAPER:
        return ratio_pct < PAPER[method]
    return None


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--backbones", nargs="+", default=["bert_base", "t5_base", "deberta_v3_base", "qwen2_0_5b"]
    )
    parser.add_argument("--methods", nargs="+", default=None, help="default: every conf/adapter/*.yaml")
    parser.add_argument("--protocol", choices=sorted(PROTOCOLS), default="quick")
    args = parser.parse_args(argv)
    settings = PROTOCOLS[args.protocol]
    configure_threads()
    where = device()
    rows, failures = [], {}
    for name in args.backbones:
        for method in args.methods or adapter_names():
            backbone_failures: dict[str, str] = {}
            backbone = try_build(name, method, backbone_failures)
            failures.update({f"{name}/{m}": why for m, why in backbone_failures.items()})
            if backbone is None:
                continue
            backbone.to(where)
            torch.manual_seed(0)
            result = measure_latency(backbone, settings, where)
            pct = 100 * result["ratio"]
            rows.append({
                "backbone": name, "method": method, "ms": result["ms"], "base_ms": result["base_ms"],
                "pct_of_base": pct, "paper_pct": PAPER.get(method), "merged": result["merged"],
                "target_holds": target_holds(method, pct),
            })  # fmt: skip
            print(
                f"{name}/{method}: {result['ms']:.2f} ms vs {result['base_ms']:.2f} ms = {pct:.1f}%",
                flush=True,
            )
            del backbone
    notes = [
        f"protocol '{args.protocol}': batch {settings.batch_size}, sequence length {settings.seq_len}, "
        f"{settings.warmup} warm-up + {settings.iters} timed forwards, {settings.repeats} repeats (mean), "
        "base (adapters disabled) and adapted alternating in every repeat; mergeable adapters merged",
        "targets: merged methods (krona, lora) within 3% of 100; krona_b and krona_res below the paper's ratio",
        f"did not build: {failures or 'none'}",
    ]
    columns = ["backbone", "method", "ms", "base_ms", "pct_of_base", "paper_pct", "merged", "target_holds"]
    name = "latency" if args.protocol == "quick" else f"latency_{args.protocol}"
    write_table(name, "Inference latency, % of the backbone alone", rows, columns, notes, failures=failures)


if __name__ == "__main__":
    main()
