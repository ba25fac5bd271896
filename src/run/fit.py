"""One training run from a checked config to its record: build, fit, test, and write results.json
(``python -m src.train`` is the command line around ``run``)."""

from __future__ import annotations

import logging
import math
from pathlib import Path

import lightning as L
from lightning.pytorch.utilities import rank_zero_only
from omegaconf import DictConfig, OmegaConf

from src import adapters
from src.callbacks import standalone_sections
from src.callbacks.section import sections_of
from src.data import GlueTask
from src.data.datamodule import read_splits
from src.errors import ConfigError, DiskFullError
from src.record import RecordDraft, RunRecord, results_path, versions, write_record
from src.run import wandb_run
from src.run.build import (
    best_checkpoint,
    build_datamodule,
    build_model,
    build_module,
    build_trainer,
    regression_target,
)
from src.run.preflight import check_fits
from src.run.run_dir import checkpoint_in_run, require_file
from src.run.scoring import score_splits
from src.schema import check_config
from src.training.checkpoint_trust import require_intact, trusted_resume_point
from src.training.loggers import scores_to_summary

log = logging.getLogger(__name__)


def run(cfg: DictConfig) -> RunRecord:
    """One run: returns the record it writes to ``<output_dir>/results.json`` (``status: finished``).

    Every setting is checked first (src/schema); a config refused there leaves a results.json with
    ``status: refused`` and the error, which src.report skips, and nothing else.
    """
    draft = RecordDraft()
    try:
        task = check_config(cfg)
    except BaseException as error:
        write_results(Path(cfg.paths.output_dir), draft.stopped_by(error))
        raise
    return fit_and_report(cfg, task)


@wandb_run.tracked
def fit_and_report(cfg: DictConfig, task: GlueTask) -> RunRecord:
    """Build, train, test, and write results.json.

    A failed run still writes results.json, with ``error`` (type, message, reason) beside whatever it had
    measured (parameter counts at least, once the model was built), then re-raises. Its ``status`` is
    ``refused`` when a user error stopped it before training (a data file, factor shapes that do not
    fit the layer), else ``failed``.
    """
    output_dir = Path(cfg.paths.output_dir)
    draft = RecordDraft()
    try:
        fit_and_test(cfg, task, output_dir, draft)
    except BaseException as error:
        try:
            write_results(output_dir, draft.stopped_by(error))
        except DiskFullError as full:  # not even results.json fits: the run's own error is the one to report
            log.error("%s", full)
        raise
    record = draft.finished()
    write_results(output_dir, record)
    return record


def fit_and_test(cfg: DictConfig, task: GlueTask, output_dir: Path, draft: RecordDraft) -> None:
    """Build, train and test, handing ``draft`` each measurement as it becomes available."""
    config = OmegaConf.to_container(cfg, resolve=True)
    draft.describe(config, versions())
    ckpt_path = checked_ckpt_path(cfg, output_dir)
    # Read (and check) the data before the model is built: a broken file stops the run in seconds.
    splits = read_splits(task, **config["data"]) if cfg.train or cfg.test else None
    L.seed_everything(cfg.seed, workers=True)
    target = regression_target(cfg, task, splits) if splits else None
    backbone = build_model(cfg, task, target)
    if target is not None:
        draft.add_sections({"regression_target": target.record()})
    draft.add_sections({"params": adapters.count_parameters(backbone.model, backbone.placement())})
    check_fits(backbone, task, config["data"])
    if cfg.train or cfg.test:
        datamodule = build_datamodule(cfg, backbone, task, splits)
        module = build_module(cfg, backbone, datamodule)
        trainer = build_trainer(cfg, output_dir)
        if cfg.train:
            trainer.fit(module, datamodule=datamodule, ckpt_path=ckpt_path)
        if cfg.test:
            checkpoint = best_checkpoint(trainer) if cfg.train else ckpt_path
            # scores of the best checkpoint: W&B summary, not history; printed by the summary block with the real split
            with scores_to_summary(trainer):
                score_splits(trainer, module, datamodule, checkpoint)
            draft.evaluated(checkpoint)
        draft.scored(module.last_metrics)
        draft.add_sections(module.record_sections())
        draft.add_sections(sections_of(trainer.callbacks))
    else:  # no Trainer: the callbacks that can measure a bare model (parameter count, latency) still run
        draft.add_sections(standalone_sections(cfg, backbone))
    wandb_run.log_adapter(backbone.model, output_dir, backbone.installed.config)


def checked_ckpt_path(cfg: DictConfig, output_dir: Path) -> str | None:
    """``ckpt_path`` checked before any work: the checkpoint to resume from, or with ``train=false`` the one
    to evaluate (``last``/``best``: this run directory's)."""
    given = cfg.get("ckpt_path")
    if not given:
        return None
    if not (cfg.train or cfg.test):
        raise ConfigError(
            "ckpt_path with train=false test=false: nothing would use it. Set test=true to evaluate it."
        )
    if given in ("best", "last", "hpc", "registry"):  # Lightning's names for a checkpoint of this run
        return given if cfg.train else str(require_intact(checkpoint_in_run(output_dir, given)))
    hint = "pass a Lightning .ckpt file, or evaluate a run with python -m src.eval run_dir=<run>"
    return str(require_intact(require_file(given, "ckpt_path", hint)))


def write_results(output_dir: Path, record: RunRecord) -> None:
    if rank_zero_only.rank == 0:
        write_record(output_dir, record)
    log.info("results written to %s", results_path(output_dir))


def resume_point(cfg: DictConfig) -> str | None:
    """``ckpt_path`` as given, else ``last`` when the run directory already holds a last checkpoint."""
    if cfg.get("ckpt_path") or not cfg.train:
        return cfg.get("ckpt_path")
    last = Path(cfg.paths.output_dir) / "checkpoints" / "last.ckpt"
    if not last.exists():
        return None
    trusted = trusted_resume_point(last)
    log.info("resuming from %s (the run directory already has it; set ckpt_path to choose another)", trusted)
    return "last" if trusted == last else str(trusted)


def objective(record: RunRecord) -> float | None:
    """The task's primary validation metric (what a sweeper maximises); None when there is none or it is
    not finite: Optuna's sweeper records such a trial as failed and goes on (a NaN would stop it)."""
    value = record.primary_validation()
    return value if value is not None and math.isfinite(value) else None
