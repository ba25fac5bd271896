"""The block a training run ends with: what it scored (on which rows), whether merging held, what it costs,
and where its files are. Built from the run record alone, so it says exactly what results.json says."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from src.data import get_task
from src.data.splits import SEARCH_VALIDATION_ROWS
from src.record import RunRecord, results_path


def split_descriptions(task_name: str, protocol: str, search_rows: int | None = None) -> dict[str, str]:
    """What the ``validation`` and ``test`` stages really score under a split protocol (SPEC §4)."""
    task = get_task(task_name)
    dev = " + ".join(f"dev {name}" for name in task.eval_splits if name) or "dev"
    upper = task_name.upper()
    if protocol == "search":
        held_out = f"{search_rows or SEARCH_VALIDATION_ROWS:,} rows held out of {upper} train"
        return {"validation": held_out, "test": f"the same {held_out} (search protocol: dev is never read)"}
    if protocol == "glue":
        same = f"the official {upper} {dev} set"
        return {
            "validation": same,
            "test": f"{same} again: the GLUE protocol reports on dev (test = validation)",
        }
    rule = task.compacter_rule
    if rule == "halve_dev":
        return {"validation": f"first half of the shuffled {upper} dev set", "test": "its second half"}
    if rule == "hold_out_train":
        return {
            "validation": f"1,000 rows held out of {upper} train",
            "test": f"the official {upper} dev set",
        }
    return {"validation": f"{upper} dev mismatched", "test": f"{upper} dev matched"}


def _scores(metrics: dict[str, float]) -> str:
    return ", ".join(
        f"{name} {'undefined' if value is None else f'{value:.4f}'}" for name, value in metrics.items()
    )


def _merge_line(merge: dict[str, Any]) -> str:
    if merge.get("status") in ("no_adapters", "not_mergeable"):
        return f"{merge['status'].replace('_', ' ')} (nothing folded into the weights; tested as trained)"
    if merge.get("status") == "refused":
        return f"not merged, tested as trained: {merge['reason']}"
    if merge.get("status") == "dequantized_copy":
        verdict = "ok" if merge["max_abs_diff"] <= merge["tolerance"] else "FAILED"
        return (
            f"quantized base tested as trained; a copy merged in {merge['dequantize']}: max |logit difference| "
            f"{merge['max_abs_diff']:.2g} <= {merge['tolerance']:g}: {verdict}"
        )
    verdict = "ok" if merge["max_abs_diff"] <= merge["tolerance"] else "FAILED"
    line = (
        f"{merge['status'].replace('_', ' ')} ({merge['merged_adapters']} modules) before the test: "
        f"max |logit difference| {merge['max_abs_diff']:.2g} <= {merge['tolerance']:g}: {verdict}"
    )
    if merge.get("not_mergeable"):
        line += f"; not mergeable: {', '.join(merge['not_mergeable'])}"
    return line


def _latency_line(latency: dict[str, Any]) -> str:
    settings = latency["settings"]
    return (
        f"{latency['ms']:.2f} ms vs {latency['base_ms']:.2f} ms for the bare backbone: ratio {latency['ratio']:.3f} "
        f"(per repeat {latency['ratio_min']:.3f}-{latency['ratio_max']:.3f}; {latency['protocol']} protocol, "
        f"{settings['warmup']} + {settings['iters']} forwards x {settings['repeats']}, "
        f"batch {settings['batch_size']} x {settings['seq_len']} tokens)"
    )


FEW_STEPS = 10  # below this many timed steps the median is flagged as rough


def _step_line(speed: dict[str, Any]) -> str:
    steps = speed["measured_steps"]
    line = (
        f"{speed['step_ms']:,.0f} ms median over {steps} step{'s' if steps != 1 else ''} "
        f"(quartiles {speed['step_ms_p25']:,.0f}-{speed['step_ms_p75']:,.0f} ms, after {speed['warmup_steps']} "
        f"warm-up), {speed['samples_per_s']:.1f} samples/s"
    )
    return line + (f"; fewer than {FEW_STEPS} steps: a rough figure" if steps < FEW_STEPS else "")


def _params_line(params: dict[str, Any]) -> str:
    return (
        f"{params['trainable']:,} with the head, {params['trainable_without_head']:,} without "
        f"({params['trainable_pct_of_backbone']:.4f}% of the {params['backbone']:,}-parameter backbone)"
    )


def summary_lines(record: RunRecord, output_dir: Path) -> list[str]:
    config = record.config
    rows: list[tuple[str, str]] = []
    metrics = record.metrics
    if metrics:
        data = config["data"]
        where = split_descriptions(
            config["task"]["name"], data["split_protocol"], data.get("search_validation_rows")
        )
        checkpoint = record.evaluated_checkpoint
        trained = config.get("train", True)
        if checkpoint:
            scored = f"{'best checkpoint' if trained else 'checkpoint'} {Path(checkpoint).name}"
        else:
            scored = "final weights" if trained else "weights as built (untrained)"
        if record.section("prediction").get("validation_scores"):
            where = {**where, "test": where["test"] + "; one pass scored both"}
        for stage in ("validation", "test"):
            if metrics.get(stage):
                rows.append((stage, f"{_scores(metrics[stage])}  [{scored}; {where[stage]}]"))
    lines = {"params": ("trainable", _params_line), "merge": ("merge check", _merge_line)}
    lines |= {"latency": ("latency", _latency_line), "train_speed": ("train step", _step_line)}
    for section, (label, line) in lines.items():
        if section in record.sections:
            rows.append((label, line(record.sections[section])))
    rows.append(("results", str(results_path(output_dir))))
    checkpoints = output_dir / "checkpoints"
    if checkpoints.is_dir():
        rows.append(("checkpoints", f"{checkpoints}/ (best and last.ckpt)"))
    width = max(len(label) for label, _ in rows)
    title = f" {config.get('task', {}).get('name')} / {config.get('adapter', {}).get('name')} on {config.get('backbone', {}).get('name')} "
    return [f"{title:=^100}", *(f"{label:<{width}}  {text}" for label, text in rows), "=" * 100]


def print_summary(record: RunRecord, output_dir: Path) -> None:
    print("\n".join(summary_lines(record, output_dir)), flush=True)
