"""Training step time per method, normalised to full fine-tuning (KronA paper Table 2 second row,
Table 8), on bert_base and t5_base (the papers' rows) and deberta_v3_base and qwen2_0_5b (a DeBERTa-v3 and a
grouped-query decoder row) with random weights, sequence length 128; a method that cannot apply to a backbone
(GPT-2 style Conv1D, DeBERTa prefix) is listed with its one-line reason.

``python -m bench.train_step`` (every conf/adapter/*.yaml method; ones that fail to build are listed).
"""

from __future__ import annotations

import argparse
import statistics
from collections.abc import Callable

import torch

from src.backbones import Backbone
from src.data import get_task

from .common import (
    BENCH_TASK,
    adapter_names,
    configure_threads,
    device,
    interleaved_medians,
    try_build,
    write_table,
)

PAPER = {
    "lora": 72,
    "krona": 75,
    "krona_b": 74,
    "krona_res": 81,
    "pa": 71,
    "compacter": 79,
    "bitfit": 64,
    "houlsby": 73,
}
KRONECKER = ("krona", "krona_b", "krona_res")
TASK = get_task(BENCH_TASK)


def training_batch(
    backbone: Backbone, batch_size: int, seq_len: int, where: torch.device
) -> dict[str, torch.Tensor]:
    torch.manual_seed(0)
    batch = backbone.dummy_inputs(batch_size, seq_len, where)
    if backbone.text_to_text:
        batch.pop("decoder_input_ids", None)
        word = backbone.tokenizer(TASK.verbalizers[0]).input_ids
        batch["labels"] = torch.tensor(word, device=where).expand(batch_size, -1).clone()
    else:
        batch["labels"] = torch.randint(0, TASK.num_labels, (batch_size,), device=where)
    return batch


def share_frozen_weights(model: torch.nn.Module, source: torch.nn.Module) -> None:
    """Point frozen parameters at ``source``'s storage: the values do not change the speed, and one
    copy of the frozen backbone lets every method stay in memory to be timed side by side."""
    shared = dict(source.named_parameters())
    for name, param in model.named_parameters():
        twin = shared.get(name)
        if not param.requires_grad and twin is not None and twin.shape == param.shape:
            param.data = twin.data


def optimiser_step(backbone: Backbone, batch: dict[str, torch.Tensor]) -> Callable[[], None]:
    """One step as GlueModule takes it: loss, backward, AdamW over the trainable parameters only."""
    optimiser = torch.optim.AdamW([p for p in backbone.parameters() if p.requires_grad], lr=1e-5)
    backbone.train()

    def step() -> None:
        optimiser.zero_grad(set_to_none=True)
        backbone.loss(batch).backward()
        optimiser.step()

    return step


def measure_backbone(
    name: str, methods: list[str], batch_size: int, seq_len: int, rounds: int
) -> tuple[list[dict], dict]:
    configure_threads()
    where = device()
    failures: dict[str, str] = {}
    models: dict[str, Backbone] = {}
    frozen_source = None
    for method in ["full", *[m for m in methods if m != "full"]]:
        model = try_build(name, method, failures)
        if model is None:
            continue
        model.to(where)
        if method != "full":
            frozen_source = frozen_source or model.model
            share_frozen_weights(model.model, frozen_source)
        models[method] = model
    if "full" not in models:
        raise RuntimeError(f"full fine-tuning does not build on {name}: {failures.get('full')}")
    steps = {m: optimiser_step(b, training_batch(b, batch_size, seq_len, where)) for m, b in models.items()}
    print(f"{name}: timing {len(steps)} methods, {rounds} rounds", flush=True)
    seconds = interleaved_medians(steps, where, rounds=rounds)
    rows = []
    for method, s in seconds.items():
        trainable = sum(p.numel() for p in models[method].parameters() if p.requires_grad)
        ratio = 100 * s / seconds["full"]
        paper = PAPER.get(method)
        rows.append(
            {
                "backbone": name,
                "method": method,
                "trainable": trainable,
                "step_ms": 1e3 * s,
                "pct_of_full": ratio,
                "paper_pct": paper,
                "below_paper": (ratio < paper) if paper is not None and method in KRONECKER else None,
            }
        )
    return rows, failures


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--backbones", nargs="+", default=["bert_base", "t5_base", "deberta_v3_base", "qwen2_0_5b"]
    )
    parser.add_argument("--methods", nargs="+", default=None, help="default: every conf/adapter/*.yaml")
    parser.add_argument("--batch", type=int, default=1)
    parser.add_argument("--seq-len", type=int, default=128)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args(argv)
    methods = args.methods or adapter_names()
    rows, failures = [], {}
    for name in args.backbones:
        backbone_rows, backbone_failures = measure_backbone(
            name, methods, args.batch, args.seq_len, args.rounds
        )
        rows += backbone_rows
        failures.update({f"{name}/{m}": why for m, why in backbone_failures.items()})
        for row in backbone_rows:
            print(
                f"  {row['method']}: {row['step_ms']:.0f} ms = {row['pct_of_full']:.0f}% of full", flush=True
            )
    kron = [r for r in rows if r["method"] in KRONECKER]
    notes = [
        f"one optimiser step (AdamW over trainable parameters; forward, backward, update) on a batch of "
        f"{args.batch} x {args.seq_len} tokens, random weights (backbone.init=random), task rte; median of "
        f"{args.rounds} rounds after one warm-up step, all methods timed in turn within each round",
        "frozen backbone weights are shared between the adapter models (one copy in memory); full fine-tuning has its own",
        "T5: labels are the label word (text-to-text), decoder length = its token count",
        f"did not build: {failures or 'none'}",
    ]
    summary = {
        "kronecker_below_paper": all(r["below_paper"] for r in kron) if kron else None,
        "median_pct": {
            m: statistics.median(r["pct_of_full"] for r in rows if r["method"] == m)
            for m in {r["method"] for r in rows}
        },
    }
    columns = ["backbone", "method", "trainable", "step_ms", "pct_of_full", "paper_pct", "below_paper"]
    write_table(
        "train_step",
        "Training step time, % of full fine-tuning",
        rows,
        columns,
        notes,
        failures=failures,
        summary=summary,
    )


if __name__ == "__main__":
    main()
