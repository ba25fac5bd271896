"""The objects of one run, each built from the composed config by one call: the model with its adapter, the
data module, the LightningModule and the Trainer (src.train and src.eval build with the same functions)."""

from __future__ import annotations

from pathlib import Path

import lightning as L
from hydra.utils import instantiate
from omegaconf import DictConfig, OmegaConf

from src import adapters
from src.backbones import Backbone, BackboneSettings, build_backbone
from src.data import GlueDataModule, GlueTask
from src.data.datamodule import first_rows
from src.data.regression_target import RegressionTarget
from src.data.splits import Splits
from src.schema.trainer import trainer_keywords
from src.training.checkpoint_io import AtomicCheckpointIO
from src.training.compiled import compile_in_place, compile_mode
from src.training.loggers import build_logger, curve_callbacks
from src.training.module import GlueModule, OptimSettings
from src.training.resumable import ResumableGlueDataModule


def build_model(cfg: DictConfig, task: GlueTask, target: RegressionTarget | None = None) -> Backbone:
    """Backbone with the configured adapter installed and the right parameters trainable; a regression task's
    head meets its target as ``target`` says (``regression_target``)."""
    backbone = build_backbone(BackboneSettings(**OmegaConf.to_container(cfg.backbone, resolve=True)), task)
    if target is not None:
        backbone.use_regression_target(target)
    backbone.installed = adapters.apply(
        backbone.model, OmegaConf.to_container(cfg.adapter, resolve=True), backbone.placement()
    )
    return backbone


def regression_target(cfg: DictConfig, task: GlueTask, splits: Splits) -> RegressionTarget | None:
    """A regression task's ``task.regression_target``, with the statistics of the training rows the run uses."""
    if not task.is_regression:
        return None
    rows = first_rows(splits["train"], cfg.data.max_train_samples)
    return RegressionTarget.from_labels(cfg.task.get("regression_target", "raw"), rows["label"])


def build_datamodule(
    cfg: DictConfig, backbone: Backbone, task: GlueTask, splits: Splits | None = None
) -> GlueDataModule:
    return ResumableGlueDataModule(
        order_seed=cfg.seed,
        task=task,
        tokenizer=backbone.tokenizer,
        text_to_text=backbone.text_to_text,
        splits=splits,
        **OmegaConf.to_container(cfg.data, resolve=True),
    )


def build_module(cfg: DictConfig, backbone: Backbone, datamodule: GlueDataModule) -> GlueModule:
    """The LightningModule around ``backbone``, whose model is compiled in place first when ``trainer.compile`` asks."""
    mode = compile_mode(cfg.trainer.get("compile"))
    if mode:
        compile_in_place(backbone.model, mode, cfg.trainer.get("compile_backend", "inductor"))
    return GlueModule(
        backbone,
        datamodule.task,
        OptimSettings(**OmegaConf.to_container(cfg.optim, resolve=True)),
        {stage: datamodule.eval_split_names(stage) for stage in ("validation", "test")},
    )


def build_trainer(cfg: DictConfig, output_dir: Path) -> L.Trainer:
    callbacks = [
        instantiate(c) for c in (cfg.get("callbacks") or {}).values() if c is not None and "_target_" in c
    ]
    trainer_cfg = trainer_keywords(OmegaConf.to_container(cfg.trainer, resolve=True))
    trainer_cfg["logger"] = logger = build_logger(cfg)
    callbacks += curve_callbacks(logger, callbacks)
    return instantiate(
        trainer_cfg, callbacks=callbacks, default_root_dir=str(output_dir), plugins=[AtomicCheckpointIO()]
    )


def best_checkpoint(trainer: L.Trainer) -> str | None:
    path = trainer.checkpoint_callback.best_model_path if trainer.checkpoint_callback else ""
    return path or None
