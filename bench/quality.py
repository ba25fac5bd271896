"""Quality on real data: every method row of a plan (bench/quality_plans.py) at a matched trainable budget,
each at the learning rate its search chose (bench/quality_lr.yaml, from ``python -m bench.search``), over
several seeds (5 for the rows a claim names, 3 for the rest), GLUE dev protocol (train on train, report
on dev). Reported per row: median and interquartile range over seeds, trainable parameters, step time
and wall time; then the papers' claims as paired verdicts and the PEFT parity rows (bench/claims.py).
Each run goes through src.train.run, exactly like ``python -m src.train``; on a CPU two one-thread runs
go side by side (``--jobs``, ``--threads``). A run whose directory already holds a complete results.json
with the same settings is reused, so an interrupted plan continues where it stopped.

Plans (``--plan``): ``cpu`` (default, what ``make bench`` runs; about 1 h 40 min here, after its searches), ``full`` (paper length
on bert_base and t5_base: a CUDA job), ``smoke`` (tiny random BERT, a few real rows: the pipeline only).
"""

from __future__ import annotations

import argparse
import multiprocessing
import statistics
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from . import claims
from .common import RESULTS_DIR, compose, write_table
from .quality_plans import FALLBACK_LR, FALLBACK_LR_ADAPTERS, PLANS, ROWS, Plan
from .search import plan_overrides
from .search_results import searched_overrides

RUNS_DIR = RESULTS_DIR / "quality_runs"
# Settings a reused run must share with the run the plan asks for.
SAME_SETTINGS = ("seed", "optim", "adapter", "backbone.name", "task.name", "trainer.max_epochs", "data")


@dataclass(frozen=True)
class RunSpec:
    backbone: str
    task: str
    row: str
    seed: int
    overrides: tuple[str, ...]
    lr_source: str

    @property
    def key(self) -> tuple[str, str, str]:
        return self.backbone, self.task, self.row


def learning_rate(plan_name: str, backbone: str, task: str, row: str) -> tuple[list[str], str]:
    """The searched overrides for this row (a parity row: its twin's optimiser settings), else the fallback."""
    source = ROWS[row].lr_from or row
    chosen = searched_overrides(plan_name, backbone, task, source)
    if chosen is not None:
        if ROWS[row].lr_from:
            chosen = [o for o in chosen if o.startswith("optim.")]
        return chosen, "searched" if source == row else f"searched ({source})"
    lr = FALLBACK_LR.get(ROWS[source].adapter, FALLBACK_LR_ADAPTERS)
    return [f"optim.lr={lr}"], "NOT SEARCHED (fallback)"


def run_specs(plan_name: str, plan: Plan, cuda: bool, extra: list[str]) -> list[RunSpec]:
    specs = []
    for backbone in plan.backbones:
        for task in plan.tasks:
            for row in plan.rows_for(task):
                lr, source = learning_rate(plan_name, backbone, task, row)
                for seed in plan.seeds(row):
                    out = RUNS_DIR / plan_name / f"{backbone}-{task}-{row}-seed{seed}"
                    overrides = [
                        *plan_overrides(plan, backbone, task, row, cuda), *lr, f"seed={seed}",
                        "data.split_protocol=glue", f"paths.output_dir={out}", *extra,
                    ]  # fmt: skip
                    if plan.epochs == 1:  # the dev score after the one epoch is the result
                        overrides.append("test=false")
                    specs.append(RunSpec(backbone, task, row, seed, tuple(overrides), source))
    return specs


def _settings(config: dict[str, Any]) -> dict[str, Any]:
    def get(dotted: str) -> Any:
        value: Any = config
        for key in dotted.split("."):
            value = value.get(key) if isinstance(value, dict) else None
        return value

    settings = {name: get(name) for name in SAME_SETTINGS}
    # where the GLUE files lie is not a setting: a clone elsewhere reuses runs
    if isinstance(settings["data"], dict):
        settings["data"] = {k: v for k, v in settings["data"].items() if k != "glue_dir"}
    return settings


def finished_run(spec: RunSpec) -> dict[str, Any] | None:
    """The run's results.json when it already completed with exactly these settings."""
    from omegaconf import OmegaConf

    from src.results import read_results

    out = Path(next(o for o in spec.overrides if o.startswith("paths.output_dir=")).split("=", 1)[1])
    if not (out / "results.json").exists():
        return None
    results = read_results(out)
    wanted = _settings(OmegaConf.to_container(compose(*spec.overrides), resolve=True))
    if "error" in results or _settings(results.get("config", {})) != wanted:
        return None
    return results


def init_worker(threads: int | None) -> None:
    if threads:
        import torch

        torch.set_num_threads(threads)


def run_one(spec: RunSpec) -> dict[str, Any]:
    """One run (in a worker process): its dev score, size, step time and wall time; a failure is recorded."""
    from src.train import objective, run

    started = time.perf_counter()
    results = finished_run(spec)
    reused = results is not None
    if results is None:
        try:
            results = run(compose(*spec.overrides))
        except Exception as error:  # noqa: BLE001 - a diverged or broken run is a row in the table, not a crash
            return {**spec.__dict__, "score": None, "error": f"{type(error).__name__}: {str(error)[:200]}",
                    "minutes": (time.perf_counter() - started) / 60}  # fmt: skip
    score = objective(results)
    return {
        **spec.__dict__,
        "score": None if score is None else 100 * score,
        "metric": next(iter(results["metrics"].get("validation", {})), None),
        "trainable": results["params"]["trainable"],
        "step_ms": (results.get("train_speed") or {}).get("step_ms"),
        "minutes": results["wall_time_s"] / 60,
        "reused": reused,
    }


def run_all(specs: list[RunSpec], jobs: int, threads: int | None) -> list[dict[str, Any]]:
    if jobs == 1:
        init_worker(threads)
        return [_report(run_one(spec)) for spec in specs]
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(jobs, mp_context=context, initializer=init_worker, initargs=(threads,)) as pool:
        futures = [pool.submit(run_one, spec) for spec in specs]
        return [_report(future.result()) for future in as_completed(futures)]


def _report(result: dict[str, Any]) -> dict[str, Any]:
    what = f"{result['backbone']}/{result['task']}/{result['row']}/seed{result['seed']}"
    print(f"{what}: {result.get('score')} {result.get('error') or ''}", flush=True)
    return result


def majority_baseline(task_name: str, glue_dir: str | None, dev_rows: int | None = None) -> float | None:
    """The dev score (x100) of always predicting the training set's most frequent label (on the first
    ``dev_rows`` dev rows when the plan scores only those); None for STS-B."""
    import collections

    import torch

    from src.data import get_task
    from src.data.readers import split_reader
    from src.data.splits import make_splits
    from src.metrics import build_metrics, finish

    task = get_task(task_name)
    if task.is_regression:
        return None
    splits = make_splits(task, "glue", split_reader(task, "auto", glue_dir), seed=0)
    majority = collections.Counter(splits["train"]["label"]).most_common(1)[0][0]
    dev = next(iter(splits["validation"].values()))["label"][:dev_rows]
    metrics = build_metrics(task)
    metrics.update(torch.full((len(dev),), majority), torch.tensor(dev))
    return 100 * next(iter(finish(task, metrics.compute()).values()))


def zero_shot_references(specs: list[RunSpec]) -> dict[tuple[str, str], float]:
    """(backbone, task) -> the frozen encoder's cosine-similarity score on a sentence-pair regression task
    (bench/sts_reference.py), for the pretrained encoder backbones of the plan."""
    from bench.sts_reference import frozen_cosine_pearson

    references = {}
    for backbone, task in sorted({(spec.backbone, spec.task) for spec in specs}):
        cfg = compose(*next(s for s in specs if (s.backbone, s.task) == (backbone, task)).overrides)
        if cfg.backbone.family != "encoder" or cfg.backbone.init == "random":  # nothing pretrained to ask
            continue
        score = frozen_cosine_pearson(
            task,
            cfg.backbone.pretrained,
            cfg.data.glue_dir,
            cfg.data.max_length,
            cfg.data.get("max_eval_samples"),
        )
        if score is not None:
            references[(backbone, task)] = score
    return references


def aggregate(
    results: list[dict[str, Any]],
    baselines: dict[str, float | None],
    references: dict[tuple[str, str], float] | None = None,
) -> list[dict[str, Any]]:
    """One row per (backbone, task, method row): median and interquartile range of the dev score over seeds."""
    rows = []
    for key in sorted({(r["backbone"], r["task"], r["row"]) for r in results}):
        runs = [r for r in results if (r["backbone"], r["task"], r["row"]) == key]
        scores = [r["score"] for r in runs if r["score"] is not None]
        q25, median, q75 = np.percentile(scores, [25, 50, 75]) if scores else (None, None, None)
        baseline = baselines.get(key[1])
        steps = [r["step_ms"] for r in runs if r.get("step_ms")]
        rows.append({
            "backbone": key[0], "task": key[1], "method": key[2], "metric": next((r["metric"] for r in runs if r.get("metric")), None),
            "median": median, "iqr": None if median is None else q75 - q25, "q25": q25, "q75": q75,
            "seeds": len(scores), "failed": len(runs) - len(scores), "majority": baseline,
            "above_majority": None if median is None or baseline is None else median - baseline,
            "zero_shot": (references or {}).get(key[:2]),
            "trainable": next((r["trainable"] for r in runs if r.get("trainable")), None),
            "step_ms": statistics.median(steps) if steps else None,
            "minutes_per_run": statistics.fmean(r["minutes"] for r in runs), "lr": _lr(runs[0]), "lr_source": runs[0]["lr_source"],
            "scores": {r["seed"]: r["score"] for r in runs if r["score"] is not None},
        })  # fmt: skip
    return rows


def _dev_cut(plan: Plan) -> int | None:
    cut = [int(o.split("=", 1)[1]) for o in plan.extra if o.startswith("data.max_eval_samples=")]
    return cut[0] if cut else None


def _dev_rows(plan: Plan) -> str:
    return f"the first {_dev_cut(plan)} dev rows" if _dev_cut(plan) else "the whole dev set"


def _lr(result: dict[str, Any]) -> str:
    return " ".join(o for o in result["overrides"] if o.startswith(("optim.lr=", "adapter.scale=")))


def claim_rows(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    table = {(r["backbone"], r["task"], r["method"]): r for r in rows}
    out = []
    for backbone, task in sorted({(r["backbone"], r["task"]) for r in rows}):
        for claim in claims.CLAIMS:
            better, worse = (
                table.get((backbone, task, claim.better)),
                table.get((backbone, task, claim.worse)),
            )
            if not better or not worse:
                continue
            trivial = better["majority"]
            differences = claims.paired_differences(
                *claims.both_learned(better["scores"], worse["scores"], trivial)
            )
            result, interval = claims.verdict(differences)
            out.append({
                **_comparison(backbone, task, claim.name, claim.source, differences, interval, result),
                "did_not_learn": {
                    name: sorted(set(row["scores"]) - claims.learned_seeds(row["scores"], trivial))
                    for name, row in ((claim.better, better), (claim.worse, worse))
                },
            })  # fmt: skip
    return out


def parity_rows(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    table = {(r["backbone"], r["task"], r["method"]): r for r in rows}
    out = []
    for backbone, task in sorted({(r["backbone"], r["task"]) for r in rows}):
        for ours, theirs in claims.PARITY:
            a, b = table.get((backbone, task, ours)), table.get((backbone, task, theirs))
            if not a or not b:
                continue
            differences = claims.paired_differences(a["scores"], b["scores"])
            result, interval = claims.parity_verdict(differences, spread=a["iqr"] or 0.0)
            out.append({
                **_comparison(backbone, task, f"{ours} vs {theirs}", "PEFT", differences, interval, result),
                "ours_median": a["median"], "peft_median": b["median"], "ours_iqr": a["iqr"],
            })  # fmt: skip
    return out


def _comparison(backbone, task, name, source, differences, interval, result) -> dict[str, Any]:
    return {
        "backbone": backbone, "task": task, "comparison": name, "source": source, "paired_seeds": len(differences),
        "differences": differences, "mean_difference": statistics.fmean(differences) if differences else None,
        "ci_low": interval[0] if interval else None, "ci_high": interval[1] if interval else None, "verdict": result,
    }  # fmt: skip


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--plan", choices=sorted(PLANS), default="cpu")
    parser.add_argument("--backbones", nargs="+")
    parser.add_argument("--tasks", nargs="+")
    parser.add_argument("--rows", nargs="+", help="method rows (bench/quality_plans.py ROWS)")
    parser.add_argument("--jobs", type=int, help="runs side by side (default: 2 on a CPU, 1 on a GPU)")
    parser.add_argument("--threads", type=int, help="torch threads per run (default: 1 on a CPU)")
    parser.add_argument("--override", nargs="*", default=[], help="more overrides for every run, e.g. "
                        "backbone.pretrained=/models/bert-base-uncased trainer.precision=bf16-mixed")  # fmt: skip
    args = parser.parse_args(argv)
    import torch

    cuda = torch.cuda.is_available()
    base = PLANS[args.plan]
    plan = Plan(**{
        **base.__dict__, "backbones": tuple(args.backbones or base.backbones), "tasks": tuple(args.tasks or base.tasks),
        "rows": tuple(args.rows or base.rows),
    })  # fmt: skip
    jobs = args.jobs or (1 if cuda else 2)
    threads = args.threads or (None if cuda else 1)
    specs = run_specs(args.plan, plan, cuda, args.override)
    if not specs:
        raise SystemExit(f"bench.quality: nothing to run: plan {args.plan} runs none of rows {list(plan.rows)} on "
                         f"tasks {list(plan.tasks)} (on {list(plan.claim_rows_only)} only the rows a claim names)")  # fmt: skip
    started = time.perf_counter()
    results = run_all(specs, jobs, threads)
    wall_minutes = (time.perf_counter() - started) / 60
    glue_dir = compose(*specs[0].overrides).data.glue_dir
    rows = aggregate(
        results,
        {task: majority_baseline(task, glue_dir, _dev_cut(plan)) for task in plan.tasks},
        zero_shot_references(specs),
    )
    not_searched = sorted({r["method"] for r in rows if r["lr_source"].startswith("NOT")})
    notes = [
        f"plan {args.plan}: backbones {list(plan.backbones)}, tasks {list(plan.tasks)}, {plan.epochs} epoch(s) over "
        f"{plan.max_train_samples or 'all'} training rows, max_length {plan.max_length or 'per task'}, GLUE dev "
        f"protocol (train on train, report on {_dev_rows(plan)}"
        + (", the dev score after the epoch)" if plan.epochs == 1 else ", the best dev epoch)"),
        f"seeds: {list(plan.claim_seeds)} for the rows a claim names, {list(plan.other_seeds)} for the others; median "
        "and interquartile range (iqr) over seeds, x100; majority = the dev score of always predicting the "
        "training set's most frequent label; zero_shot (sentence-pair regression) = the frozen pretrained "
        "encoder's cosine similarity of the two mean-pooled sentences, Pearson x100, nothing trained",
        "learning rates: bench/quality_lr.yaml (python -m bench.search, on training rows held out from training, "
        "never the dev set); PEFT rows take their kronlab twin's"
        + (f"; NOT SEARCHED, fallback lr used: {not_searched}" if not_searched else ""),
        f"{len(results)} runs ({sum(bool(r.get('reused')) for r in results)} reused from an earlier invocation), "
        f"{jobs} side by side, {threads or 'default'} thread(s) each; wall time {wall_minutes:.1f} min",
        "claims: paired over the shared seeds where both runs scored 10+ points above the trivial predictor "
        "(majority class; 0 for a correlation), did_not_learn = the others; ci = the wider of the 95% percentile-bootstrap (scipy.stats.bootstrap) "
        "and paired-t intervals of the mean difference, decided only when it excludes 0; parity: agree when the "
        "bootstrap interval holds 0 and |mean| <= the kronlab row's iqr",
    ]  # fmt: skip
    columns = ["backbone", "task", "method", "trainable", "metric", "median", "iqr", "seeds", "failed", "majority",
               "above_majority", "zero_shot", "step_ms", "minutes_per_run", "lr", "lr_source"]  # fmt: skip
    comparison_columns = ["backbone", "task", "comparison", "source", "paired_seeds", "mean_difference", "ci_low",
                          "ci_high", "verdict"]  # fmt: skip
    claim_columns = [*comparison_columns, "did_not_learn"]
    claim_table, parity_table = claim_rows(rows), parity_rows(rows)
    name = "quality" if args.plan == "cpu" else f"quality_{args.plan}"
    path = write_table(
        name, f"Quality: {args.plan} plan, GLUE dev", rows, columns, notes,
        sections=[("Claims (paired over the seeds where both runs learned)", claim_columns, claim_table),
                  ("PEFT parity", [*comparison_columns, "ours_median", "peft_median", "ours_iqr"], parity_table)],
        runs=results, plan=plan.__dict__, claims=claim_table, parity=parity_table,
    )  # fmt: skip
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
