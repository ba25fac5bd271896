"""Quality on real data: the local pretrained MiniLM on real GLUE RTE and MRPC (dev protocol: train
on train, select and report on dev), every method at a matched trainable budget where the method has
a size knob (about 6k adapter parameters per layer at hidden 384), several seeds, a fixed epoch budget.
Each run goes through src.train.run, exactly like ``python -m src.train``.

Plans (``--plan``): ``cpu`` (the default, what ``make bench`` runs): 2 tasks x 9 methods x 3 seeds, one
epoch over the first 512 training rows (the same rows for every seed, in the seed's order), pairs cut
at 128 tokens, scored on the whole dev set: sized to this 2-core CPU (see docs/BENCHMARKS.md for its wall time). ``full``: 3
epochs over all training rows at each task's max_length, the best dev epoch: 234 RTE + 345 MRPC steps
of 32 pairs per method and seed, at the step times measured here (about 3.4 s at 256 tokens,
1.1-1.3 s at 128) 9 to 11 hours, so a GPU job. ``smoke``: 3 runs on RTE, to check the pipeline.
"""

from __future__ import annotations

import argparse
import statistics
from pathlib import Path

from .common import RESULTS_DIR, compose, write_table

# Per-layer budget ~6,144 at d = 384: LoRA r=4 on query+value (2 x 3,072); KronA 3,072 per linear.
METHOD_OVERRIDES: dict[str, list[str]] = {
    "full": ["optim.lr=3e-5"],
    "bitfit": ["optim.lr=1e-3"],
    "lora": ["adapter.rank=4", "optim.lr=1e-3"],
    "krona": ["adapter.budget=3072", "optim.lr=1e-3"],
    "krona_b": ["adapter.budget=6144", "optim.lr=1e-3"],
    "krona_res": ["adapter.budget=6144", "optim.lr=1e-3"],
    "adakron": ["adapter.r=8", "adapter.a=2", "optim.lr=5e-4"],
    "pa": ["adapter.bottleneck=8", "optim.lr=1e-3"],
    "pfeiffer": ["adapter.bottleneck=8", "optim.lr=1e-3"],
}
GRID = {"tasks": ["rte", "mrpc"], "methods": list(METHOD_OVERRIDES), "seeds": [1, 2, 3]}
PLANS = {
    "cpu": {**GRID, "epochs": 1, "max_train_samples": 512, "max_length": 128},
    "full": {**GRID, "epochs": 3, "max_train_samples": None, "max_length": None},
    "smoke": {"tasks": ["rte"], "methods": ["full", "lora", "krona"], "seeds": [1], "epochs": 1,
              "max_train_samples": 640, "max_length": 128},
}  # fmt: skip


def run_one(task: str, method: str, seed: int, plan: dict, runs_dir: Path) -> dict:
    """One run through src.train.run. With one epoch the dev score of that epoch is the result, so the
    post-fit validate + test of the best checkpoint (both on dev under the GLUE protocol) is skipped."""
    from src.train import run

    out = runs_dir / f"{task}-{method}-seed{seed}"
    overrides = [
        "backbone=minilm", f"adapter={method}", f"task={task}", f"seed={seed}", "trainer=cpu" if not _cuda() else "trainer=gpu",
        f"trainer.max_epochs={plan['epochs']}", "data.split_protocol=glue", "logger=csv", "callbacks.latency.enabled=false",
        f"paths.output_dir={out}", *METHOD_OVERRIDES[method],
    ]  # fmt: skip
    if plan["max_train_samples"]:
        overrides.append(f"data.max_train_samples={plan['max_train_samples']}")
    if plan["max_length"]:
        overrides.append(f"data.max_length={plan['max_length']}")
    if plan["epochs"] == 1:
        overrides.append("test=false")
    return run(compose(*overrides))


def _cuda() -> bool:
    import torch

    return torch.cuda.is_available()


def primary(metrics: dict, stage: str) -> float | None:
    values = metrics.get(stage) or {}
    return next(iter(values.values()), None)


def aggregate(results: list[dict]) -> list[dict]:
    """One row per (task, method): mean and spread of the dev metric over seeds."""
    rows = []
    for task, method in sorted({(r["task"], r["method"]) for r in results}):
        runs = [r for r in results if r["task"] == task and r["method"] == method]
        scores = [r["dev"] for r in runs if r["dev"] is not None]
        rows.append({
            "task": task, "method": method, "trainable": runs[0]["trainable"], "seeds": len(runs),
            "dev_mean": 100 * statistics.fmean(scores) if scores else None,
            "dev_std": 100 * statistics.stdev(scores) if len(scores) > 1 else None,
            "metric": runs[0]["metric"], "minutes": sum(r["minutes"] for r in runs),
        })  # fmt: skip
    return rows


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--plan", choices=sorted(PLANS), default="cpu")
    parser.add_argument("--tasks", nargs="+")
    parser.add_argument("--methods", nargs="+")
    parser.add_argument("--seeds", type=int, nargs="+")
    parser.add_argument("--epochs", type=int)
    parser.add_argument("--max-train-samples", type=int)
    parser.add_argument("--max-length", type=int)
    args = parser.parse_args(argv)
    plan = dict(PLANS[args.plan])
    for key in plan:
        if getattr(args, key, None) is not None:
            plan[key] = getattr(args, key)
    runs_dir = RESULTS_DIR / "quality_runs"
    results = []
    for task in plan["tasks"]:
        for method in plan["methods"]:
            for seed in plan["seeds"]:
                out = run_one(task, method, seed, plan, runs_dir)
                metric_names = list((out["metrics"].get("validation") or {}).keys())
                results.append({
                    "task": task, "method": method, "seed": seed, "dev": primary(out["metrics"], "validation"),
                    "metric": metric_names[0] if metric_names else None, "trainable": out["params"]["trainable"],
                    "minutes": out["wall_time_s"] / 60,
                })  # fmt: skip
                print(f"{task}/{method}/seed{seed}: dev {results[-1]['dev']}", flush=True)
    notes = [
        f"backbone minilm (pretrained all-MiniLM-L6-v2), GLUE dev protocol, tasks {plan['tasks']}, methods "
        f"{plan['methods']}, seeds {plan['seeds']}, {plan['epochs']} epoch(s), training rows: "
        f"{plan['max_train_samples'] or 'all'}, max_length {plan['max_length'] or 'per task'}; "
        + ("the dev score after the epoch" if plan["epochs"] == 1 else "best dev epoch (checkpoint on val/primary)"),
        "per-method settings: " + "; ".join(f"{m}: {' '.join(METHOD_OVERRIDES[m])}" for m in plan["methods"]),
    ]
    columns = ["task", "method", "trainable", "seeds", "metric", "dev_mean", "dev_std", "minutes"]
    name = "quality" if args.plan == "cpu" else f"quality_{args.plan}"
    write_table(
        name, "Quality: MiniLM on real GLUE dev", aggregate(results), columns, notes, runs=results, plan=plan
    )


if __name__ == "__main__":
    main()
