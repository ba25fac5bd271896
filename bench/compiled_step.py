"""Training step time compiled (``trainer.compile=true``: torch.compile, inductor, mode default) against eager, on
MiniLM at the cpu study's batch (32 x 64 tokens), for full fine-tuning, LoRA, KronA and KronA^B_res; the first
compiled step (tracing and code generation) is reported beside the steady-state step.

``python -m bench.compiled_step`` (``--methods``, ``--rounds``; ``KRONLAB_BENCH_THREADS=1`` on a shared CPU).
"""

from __future__ import annotations

import argparse
import time

import torch

from src.training.compiled import compile_in_place

from .common import (
    configure_threads,
    device,
    interleaved_samples,
    paired_median_difference,
    try_build,
    write_table,
)
from .train_step import optimiser_step, training_batch

METHODS = ("full", "lora", "krona", "krona_res")
CPU_STUDY = {
    "lora": ("adapter.rank=4",),
    "krona": ("adapter.budget=3072",),
    "krona_res": ("adapter.budget=6144",),
}


def measure(backbone_name: str, method: str, batch_size: int, seq_len: int, rounds: int, where) -> dict:
    failures: dict[str, str] = {}
    eager, compiled = (
        try_build(backbone_name, method, failures, *CPU_STUDY.get(method, ())) for _ in range(2)
    )
    if eager is None or compiled is None:
        return {"method": method, "error": failures.get(method)}
    compiled.model.load_state_dict(eager.model.state_dict())
    for model in (eager, compiled):
        model.to(where)
    torch._dynamo.reset()
    compile_in_place(compiled.model, "default")
    steps = {
        "eager": optimiser_step(eager, training_batch(eager, batch_size, seq_len, where)),
        "compiled": optimiser_step(compiled, training_batch(compiled, batch_size, seq_len, where)),
    }
    started = time.perf_counter()
    steps["compiled"]()  # the first call traces and generates code
    first = time.perf_counter() - started
    samples = interleaved_samples(steps, where, rounds=rounds)
    eager_s, compiled_s = (sorted(samples[k])[len(samples[k]) // 2] for k in ("eager", "compiled"))
    saved = paired_median_difference(samples["eager"], samples["compiled"])
    return {
        "method": method,
        "trainable": sum(p.numel() for p in eager.parameters() if p.requires_grad),
        "eager_ms": 1e3 * eager_s,
        "compiled_ms": 1e3 * compiled_s,
        "compiled_vs_eager": compiled_s / eager_s,
        "rounds_compiled_faster": sum(
            c < e for c, e in zip(samples["compiled"], samples["eager"], strict=True)
        )
        / rounds,
        "first_compiled_step_s": first,
        "steps_to_repay_compile": (first - compiled_s) / saved if saved > 0 else None,
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backbone", default="minilm")
    parser.add_argument("--methods", nargs="+", default=list(METHODS))
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--seq-len", type=int, default=64)
    parser.add_argument("--rounds", type=int, default=9)
    args = parser.parse_args(argv)
    configure_threads()
    where = device()
    rows = []
    for method in args.methods:
        row = measure(args.backbone, method, args.batch, args.seq_len, args.rounds, where)
        rows.append(row)
        print(row, flush=True)
    notes = [
        f"{args.backbone} (random weights: speed only), batch {args.batch} x {args.seq_len} tokens, one optimiser step "
        "(AdamW over trainable parameters: forward, backward, update) as bench/train_step.py takes it",
        "compiled = src.training.compiled.compile_in_place (nn.Module.compile, inductor, mode default), what "
        "trainer.compile=true does; the optimiser step stays eager",
        f"median of {args.rounds} interleaved rounds after one warm-up step each; first_compiled_step_s: the first "
        "compiled step, tracing and code generation included (inductor's on-disk cache cold or warm as found)",
        "steps_to_repay_compile: (first compiled step - a compiled step) / (paired median time saved per step)",
    ]
    columns = [
        "method", "trainable", "eager_ms", "compiled_ms", "compiled_vs_eager", "rounds_compiled_faster",
        "first_compiled_step_s", "steps_to_repay_compile", "error",
    ]  # fmt: skip
    write_table("compiled_step", "Training step compiled against eager", rows, columns, notes)


if __name__ == "__main__":
    main()
