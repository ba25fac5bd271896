"""A study from its command line to its report: the searches, the seed runs at the values they chose, then
the aggregate, all under the study's folder. Run again after an interruption, it continues: finished runs
and trials are reused by what they computed, never rerun."""

from __future__ import annotations

import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import optuna
from optuna.trial import TrialState

from src.atomic import write_text_atomic
from src.schema import check_config

from .aggregate import aggregate, claim_rows, parity_rows, regression_notes, run_record
from .compose import compose_study, train_config
from .failures import summary_line
from .jobs import Job, row_overrides, seed_jobs
from .launch import launch
from .references import majority_baselines, zero_shot_references
from .report import write_report
from .search import best_params, counted, open_searches, run_searches
from .settings import StudySettings, check_study
from .storage import open_storage, storage_exists, storage_url

RUNS_FAILED_EXIT_CODE = 1  # the report was written, but some runs did not finish

STAGES = ("all", "search", "runs", "report")


def split_arguments(argv: Sequence[str]) -> tuple[list[str], list[str], list[str]]:
    """(the study's own overrides, the launcher's, every job's)."""
    study, launcher, jobs = [], [], []
    for argument in argv:
        key = argument.lstrip("+~").split("=", 1)[0]
        if key == "study" or key.startswith("study."):
            study.append(argument)
        elif key.startswith(("hydra/launcher", "hydra.launcher", "hydra.")):
            launcher.append(argument)
        else:
            jobs.append(argument)
    return study, launcher, jobs


def check_jobs(study: StudySettings, passthrough: list[str]) -> list[str]:
    """Every row's settings checked before any work (one line for the first that is wrong); returns the
    overrides every job gets, with one W&B group per study when the jobs log to W&B."""
    config = None
    for backbone in study.backbones:
        for task in study.tasks:
            for row in study.rows_for(task):
                overrides = [
                    *row_overrides(study, backbone, task, row, passthrough),
                    "paths.output_dir=/tmp/check",
                ]
                config = train_config(overrides)
                check_config(config)
    logger = (config.get("logger") or {}) if config is not None else {}
    wants_group = "WandbLogger" in str(logger.get("_target_", "")) and not logger.get("group")
    return [*passthrough, f"logger.group=study-{study.name}"] if wants_group else passthrough


def searches_table(study: StudySettings, storage: Any, passthrough: list[str]) -> list[dict[str, Any]]:
    out = []
    for search in open_searches(study, storage, passthrough):
        trials = counted(search.optuna_study.get_trials(deepcopy=False))
        complete = [t for t in trials if t.state == TrialState.COMPLETE]
        best = max(complete, key=lambda t: (t.value, -t.number)) if complete else None
        out.append({
            "backbone": search.backbone, "task": search.task, "method": search.row, "trials": len(trials),
            "failed": sum(t.state == TrialState.FAIL for t in trials),
            "best": " ".join(f"{k}={v:.3g}" if isinstance(v, float) else f"{k}={v}" for k, v in (best.params if best else {}).items()),
            "params": dict(best.params) if best else {}, "objective": None if best is None else 100 * best.value,
            "storage": search.optuna_study.study_name,
            "trial_values": [{"number": t.number, "params": t.params, "value": t.value, "state": t.state.name}
                             for t in trials],
        })  # fmt: skip
    return out


def lr_source(study: StudySettings, chosen: dict, job: Job) -> str:
    source = study.rows[job.row].lr_from or job.row
    if not chosen.get((job.backbone, job.task, source)):
        return "NOT SEARCHED (the method's default lr)"
    return "searched" if source == job.row else f"searched ({source})"


def report(
    study: StudySettings,
    jobs: list[Job],
    chosen: dict,
    storage: Any,
    passthrough: list[str],
    launched: int,
    minutes: float,
) -> None:
    records = [run_record(job, lr_source(study, chosen, job)) for job in jobs]
    rows = aggregate(study, records, majority_baselines(jobs), zero_shot_references(jobs))
    notes = [
        f"study {study.name}: backbones {list(study.backbones)}, tasks {list(study.tasks)}, {study.epochs} epoch(s) over "
        f"{study.max_train_samples or 'all'} training rows, max_length {study.max_length or 'per task'}, GLUE dev "
        "protocol (train on train, report on dev" + (", the dev score after the epoch)" if study.epochs == 1 else ")"),
        f"seeds: {list(study.claim_seeds)} for the rows a claim names, {list(study.other_seeds)} for the others; median "
        "and interquartile range (iqr) over seeds, x100; majority = the dev score of always predicting the training "
        "set's most frequent label; zero_shot (sentence-pair regression) = the frozen encoder's cosine similarity",
        f"searches: {study.search.trials} Optuna trials per searched row ({study.search.startup_trials} random, then "
        f"TPE), {study.search.seeds_per_trial} seed(s) a trial, scored on {study.search.validation_rows} training rows "
        f"held out from training (never the dev set); storage {storage_url(study)}; parity rows take their twin's",
        f"{len(jobs)} runs, {launched} launched by this invocation; wall time {minutes:.1f} min",
        "claims: paired over the shared seeds where both runs scored 10+ points above the trivial predictor; ci = the "
        "wider of the 95% percentile-bootstrap and paired-t intervals, decided only when it excludes 0; parity: agree "
        "when the bootstrap interval holds 0 and |mean| <= the kronlab row's iqr",
        *regression_notes(records),
    ]  # fmt: skip
    path = write_report(study, rows, records, claim_rows(study, rows), parity_rows(study, rows),
                        searches_table(study, storage, passthrough), notes)  # fmt: skip
    figures = study_figures(study, jobs, rows, path.parent / f"{path.stem}_figures")
    if figures:  # the report shows them
        links = [f"![{f.stem}]({f.parent.name}/{f.name})" for f in figures]
        write_text_atomic(path, path.read_text() + "\n## Figures\n\n" + "\n\n".join(links) + "\n")
    print(f"wrote {path.with_suffix('.json')}, {path} and {len(figures)} figures", flush=True)


def dry_run_copy(study: StudySettings) -> Any:
    """The storage's searches copied into memory: a dry run asks what the real one would, and writes nothing."""
    memory = optuna.storages.InMemoryStorage()
    if not storage_exists(study):
        return memory
    storage = open_storage(study)
    for summary in optuna.get_all_study_summaries(storage):
        optuna.copy_study(from_study_name=summary.study_name, from_storage=storage, to_storage=memory)
    return memory


def study_figures(study: StudySettings, jobs: list[Job], rows: list[dict[str, Any]], out: Any) -> list[Any]:
    """src.reporting.figures over the study's own runs (src.report's table, rows named by the study's labels), with the
    majority class or the frozen encoder's zero-shot score drawn on each task's score figure."""
    from src.reporting.figures import write_figures
    from src.reporting.runs import collect
    from src.reporting.table import summarise

    label = {str(Path(job.run_dir).resolve()): study.label(job.row) for job in jobs}
    try:
        runs = collect([Path(study.dir) / "runs"])
    except (FileNotFoundError, ValueError):  # no finished run yet
        return []
    runs = runs[runs["run_dir"].map(lambda d: str(Path(d).resolve())).isin(label)].copy()
    if runs.empty:
        return []
    runs["label"] = runs["run_dir"].map(lambda d: label[str(Path(d).resolve())])
    references = {}
    for row in rows:
        if row["majority"] is not None:
            references[(row["backbone"], row["task"])] = ("majority class", row["majority"])
        elif row["zero_shot"] is not None:
            references[(row["backbone"], row["task"])] = ("frozen encoder, zero-shot", row["zero_shot"])
    return write_figures(summarise(runs, with_paper=True), Path(out), references)


def run_study(argv: Sequence[str]) -> None:
    started = time.perf_counter()
    study_args, launcher_args, passthrough = split_arguments(argv)
    study = compose_study(study_args)
    check_study(study)
    passthrough = check_jobs(study, passthrough)
    storage = dry_run_copy(study) if study.dry_run else open_storage(study)
    launched = 0

    def send(jobs: list[Job], stage: str) -> int:
        nonlocal launched
        launched += launch(study, jobs, launcher_args, stage)
        return launched

    if study.stage in ("all", "search"):
        chosen = run_searches(study, storage, passthrough, send, max_rounds=1 if study.dry_run else None)
    else:
        chosen = {search.key: best_params(search) for search in open_searches(study, storage, passthrough)}
    unsearched = sorted("-".join(key) for key, params in chosen.items() if not params)
    if unsearched and study.stage in ("all", "runs"):  # said before hours of runs, not only in the report
        print(
            f"warning: no finished search for {unsearched}: those rows run at their method's default learning "
            "rate (NOT SEARCHED in the report); run study.stage=search first to search them.",
            file=sys.stderr,
        )
    jobs = seed_jobs(study, chosen, passthrough)
    if study.stage in ("all", "runs"):
        send(jobs, "runs")
    if study.stage in ("all", "report") and not study.dry_run:
        report(study, jobs, chosen, storage, passthrough, launched, (time.perf_counter() - started) / 60)
    unfinished = summary_line(study, jobs) if study.stage in ("all", "runs") and not study.dry_run else None
    if unfinished:
        print(f"error: {unfinished}", file=sys.stderr)
        sys.exit(RUNS_FAILED_EXIT_CODE)
