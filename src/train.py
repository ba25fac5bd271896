"""``python -m src.train adapter=krona task=rte``: compose, build, fit, test, write results.json."""

from __future__ import annotations

import logging
import math
import time
from contextlib import nullcontext
from pathlib import Path
from typing import Any

import hydra
import lightning as L
from hydra.core.hydra_config import HydraConfig
from hydra.types import RunMode
from hydra.utils import instantiate
from lightning.pytorch.utilities import rank_zero_only
from omegaconf import DictConfig, OmegaConf, open_dict

from src import adapters, wandb_run
from src.atomic import DiskFullError, write_json_atomic
from src.backbones import Backbone, BackboneSettings, build_backbone
from src.callbacks import standalone_sections
from src.callbacks.section import sections_of
from src.checkpoint_io import AtomicCheckpointIO
from src.checkpoint_trust import require_intact, trusted_resume_point
from src.cli import TaskStarted, hydra_cli
from src.config import CONF_DIR
from src.data import GlueDataModule, get_task
from src.data.datamodule import read_splits
from src.data.splits import Splits
from src.errors import (
    ConfigError,
    NumericsError,
    UserError,
    failure_reason,
    refused_before_training,
    report_user_errors,
)
from src.loggers import build_logger, curve_callbacks, scores_to_summary
from src.module import GlueModule, OptimSettings
from src.noise import filter_known_noise
from src.offline import go_offline_if_unreachable
from src.preflight import check_fits
from src.results import RESULTS_FILE, STATUS_FAILED, STATUS_FINISHED, STATUS_REFUSED, versions
from src.resumable import ResumableGlueDataModule
from src.run_dir import checkpoint_in_run, require_file
from src.run_folder import claimed
from src.run_summary import print_summary
from src.schema import check_config

log = logging.getLogger(__name__)


def build_model(cfg: DictConfig) -> Backbone:
    """Backbone with the configured adapter installed and the right parameters trainable."""
    task = get_task(cfg.task.name)
    backbone = build_backbone(BackboneSettings(**OmegaConf.to_container(cfg.backbone, resolve=True)), task)
    backbone.installed = adapters.apply(
        backbone.model, OmegaConf.to_container(cfg.adapter, resolve=True), backbone.placement()
    )
    return backbone


def build_datamodule(cfg: DictConfig, backbone: Backbone, splits: Splits | None = None) -> GlueDataModule:
    return ResumableGlueDataModule(
        order_seed=cfg.seed,
        task=cfg.task.name,
        tokenizer=backbone.tokenizer,
        text_to_text=backbone.text_to_text,
        splits=splits,
        **OmegaConf.to_container(cfg.data, resolve=True),
    )


def build_module(cfg: DictConfig, backbone: Backbone, datamodule: GlueDataModule) -> GlueModule:
    return GlueModule(
        backbone,
        OptimSettings(**OmegaConf.to_container(cfg.optim, resolve=True)),
        {stage: datamodule.eval_split_names(stage) for stage in ("validation", "test")},
    )


def build_trainer(cfg: DictConfig, output_dir: Path) -> L.Trainer:
    callbacks = [
        instantiate(c) for c in (cfg.get("callbacks") or {}).values() if c is not None and "_target_" in c
    ]
    trainer_cfg = OmegaConf.to_container(cfg.trainer, resolve=True)
    trainer_cfg["logger"] = logger = build_logger(cfg)
    callbacks += curve_callbacks(logger, callbacks)
    return instantiate(
        trainer_cfg, callbacks=callbacks, default_root_dir=str(output_dir), plugins=[AtomicCheckpointIO()]
    )


def best_checkpoint(trainer: L.Trainer) -> str | None:
    path = trainer.checkpoint_callback.best_model_path if trainer.checkpoint_callback else ""
    return path or None


def run(cfg: DictConfig) -> dict[str, Any]:
    """One run: returns what it writes to ``<output_dir>/results.json`` (``status: finished``).

    Every setting is checked first (src/schema); a config refused there leaves a results.json with
    ``status: refused`` and the error, which src.report skips, and nothing else.
    """
    try:
        check_config(cfg)
    except BaseException as error:
        results = {"status": STATUS_REFUSED, "error": {"type": type(error).__name__, "message": str(error)}}
        write_results(Path(cfg.paths.output_dir), results, time.perf_counter())
        raise
    return fit_and_report(cfg)


@wandb_run.tracked
def fit_and_report(cfg: DictConfig) -> dict[str, Any]:
    """Build, train, test, and write results.json.

    A failed run still writes results.json, with ``error`` (type, message) beside whatever it had
    measured (parameter counts at least, once the model was built), then re-raises. Its ``status`` is
    ``refused`` when a user error stopped it before training (a data file, factor shapes that do not
    fit the layer), else ``failed``.
    """
    started = time.perf_counter()
    output_dir = Path(cfg.paths.output_dir)
    results: dict[str, Any] = {"status": STATUS_FINISHED, "metrics": {}}
    try:
        fit_and_test(cfg, output_dir, results)
    except BaseException as error:
        results["status"] = STATUS_REFUSED if refused_before_training(error) else STATUS_FAILED
        results["error"] = {
            "type": type(error).__name__,
            "message": str(error),
            "reason": failure_reason(error),
        }
        try:
            write_results(output_dir, results, started)
        except DiskFullError as full:  # not even results.json fits: the run's own error is the one to report
            log.error("%s", full)
        raise
    write_results(output_dir, results, started)
    return results


def fit_and_test(cfg: DictConfig, output_dir: Path, results: dict[str, Any]) -> None:
    """Build, train and test, filling ``results`` as each measurement becomes available."""
    results["config"] = OmegaConf.to_container(cfg, resolve=True)
    results["versions"] = versions()
    ckpt_path = checked_ckpt_path(cfg, output_dir)
    # Read (and check) the data before the model is built: a broken file stops the run in seconds.
    splits = read_splits(cfg.task.name, **results["config"]["data"]) if cfg.train or cfg.test else None
    L.seed_everything(cfg.seed, workers=True)
    backbone = build_model(cfg)
    results["params"] = adapters.count_parameters(backbone.model, backbone.placement())
    check_fits(backbone, results["config"]["data"])
    if cfg.train or cfg.test:
        datamodule = build_datamodule(cfg, backbone, splits)
        module = build_module(cfg, backbone, datamodule)
        trainer = build_trainer(cfg, output_dir)
        if cfg.train:
            trainer.fit(module, datamodule=datamodule, ckpt_path=ckpt_path)
        if cfg.test:
            checkpoint = best_checkpoint(trainer) if cfg.train else ckpt_path
            # scores of the best checkpoint: W&B summary, not history; printed by the summary block with the real split
            with scores_to_summary(trainer):
                trainer.validate(module, datamodule=datamodule, ckpt_path=checkpoint, verbose=False)
                trainer.test(module, datamodule=datamodule, ckpt_path=checkpoint, verbose=False)
            results["best_checkpoint"] = checkpoint
            results["evaluated_checkpoint"] = (
                checkpoint  # None: the weights in memory (untrained with train=false)
            )
        results["metrics"] = dict(module.last_metrics)
        results.update(module.results_sections)
        results.update(sections_of(trainer.callbacks))
    else:  # no Trainer: the callbacks that can measure a bare model (parameter count, latency) still run
        results.update(standalone_sections(cfg, backbone))
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


def write_results(output_dir: Path, results: dict[str, Any], started: float) -> None:
    results["wall_time_s"] = time.perf_counter() - started
    if rank_zero_only.rank == 0:
        write_json_atomic(output_dir / RESULTS_FILE, results)
    log.info("results written to %s", output_dir / RESULTS_FILE)


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


def objective(results: dict[str, Any]) -> float | None:
    """The task's primary validation metric (what a sweeper maximises); None when there is none or it is
    not finite: Optuna's sweeper records such a trial as failed and goes on (a NaN would stop it)."""
    value = next(iter(results["metrics"].get("validation", {}).values()), None)
    return value if value is not None and math.isfinite(value) else None


def in_sweep() -> bool:
    return HydraConfig.initialized() and HydraConfig.get().mode == RunMode.MULTIRUN


@hydra.main(version_base="1.3", config_path=str(CONF_DIR), config_name="train")
def main(cfg: DictConfig) -> float | None:
    TaskStarted.value = True
    filter_known_noise()
    go_offline_if_unreachable()
    with report_user_errors():
        try:
            with claimed(Path(cfg.paths.output_dir)) if in_sweep() else nullcontext():
                with open_dict(cfg):
                    cfg.ckpt_path = resume_point(cfg)
                results = run(cfg)
        except UserError as error:
            if not in_sweep():
                raise
            # In a sweep the other jobs go on: a diverged trial (NumericsError) or a refused job is one failed
            # job, its results.json says why (an exit here would take the launcher's whole batch down).
            log.warning(
                "job recorded as %s: %s", "failed" if isinstance(error, NumericsError) else "refused", error
            )
            return None
    if rank_zero_only.rank == 0:
        print_summary(results, Path(cfg.paths.output_dir))
    return objective(results)


if __name__ == "__main__":
    hydra_cli(main)
