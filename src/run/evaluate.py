"""Evaluate a saved run (``python -m src.eval``): rebuild it from its own config, load its weights, evaluate.

The model, data and trainer come from the run's saved config (with any overrides on the command
line), built by the same functions as ``src.train``; the weights from the run's best (or last)
checkpoint, a given ``ckpt_path``, or a saved ``adapter_dir``. Writes ``eval.json`` atomically:
metrics per split, which weights were loaded, the config used.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import lightning as L
import torch
from hydra.utils import instantiate
from omegaconf import DictConfig, OmegaConf

from src.adapters import load_adapter
from src.atomic import write_json_atomic
from src.data.datamodule import read_splits
from src.errors import ConfigError
from src.record import versions
from src.run.build import build_datamodule, build_model, build_module, regression_target
from src.run.overrides import apply_overrides, parse_overrides
from src.run.preflight import check_fits
from src.run.run_dir import checkpoint_in_run, enclosing_run_dir, is_run_dir, require_file, run_config
from src.run.scoring import score_splits
from src.schema import check_config
from src.schema.trainer import trainer_keywords

log = logging.getLogger(__name__)
EVAL_FILE = "eval.json"
SPLITS = ("validation", "test")


@dataclass
class Weights:
    """What gets loaded into the rebuilt model: a Lightning checkpoint or an adapter folder."""

    run_dir: Path
    kind: str  # best | last | ckpt_path | adapter_dir
    path: Path

    def describe(self) -> dict[str, Any]:
        described: dict[str, Any] = {"kind": self.kind, "path": str(self.path)}
        if self.kind != "adapter_dir":  # the checkpoint's own record of where training was
            saved = torch.load(self.path, map_location="cpu", weights_only=True, mmap=True)
            described |= {"epoch": saved.get("epoch"), "global_step": saved.get("global_step")}
        return described


def find_weights(settings: DictConfig) -> Weights:
    """The run directory and the weights to load, from ``run_dir`` / ``ckpt_path`` / ``adapter_dir``."""
    if settings.ckpt_path and settings.adapter_dir:
        raise ConfigError("pass ckpt_path or adapter_dir, not both.")
    given = settings.ckpt_path or settings.adapter_dir
    if settings.ckpt_path:
        path = require_file(settings.ckpt_path, "ckpt_path", "pass a Lightning .ckpt file of a kronlab run")
    elif settings.adapter_dir:
        path = Path(settings.adapter_dir).expanduser().resolve()
        require_file(
            path / "adapter.safetensors", "adapter_dir", "pass the folder save_adapter wrote (<run>/adapter)"
        )
    if settings.run_dir:
        run_dir = Path(settings.run_dir).expanduser().resolve()
        if not is_run_dir(run_dir):
            raise ConfigError(
                f"run_dir={run_dir}: not a run directory (no results.json or .hydra/config.yaml)."
            )
    elif given:
        run_dir = enclosing_run_dir(path)
        if run_dir is None:
            raise ConfigError(
                f"{path} is not inside a run directory: also pass run_dir=<the run that wrote it>."
            )
    else:
        raise ConfigError(
            "nothing to evaluate: pass run_dir=<run>, ckpt_path=<file.ckpt> or adapter_dir=<folder>."
        )
    if not given:
        return Weights(run_dir, settings.checkpoint, checkpoint_in_run(run_dir, settings.checkpoint))
    return Weights(run_dir, "ckpt_path" if settings.ckpt_path else "adapter_dir", path)


def chosen_splits(split: Any) -> list[str]:
    chosen = [split] if isinstance(split, str) else list(split)
    if not chosen or any(s not in SPLITS for s in chosen):
        raise ConfigError(f"split={split}: use validation, test or [validation,test].")
    return chosen


def evaluation_trainer(cfg: DictConfig, run_dir: Path) -> L.Trainer:
    """The run's trainer settings (devices, precision, batch limits), without its logger, callbacks or checkpoints."""
    trainer_cfg = trainer_keywords(OmegaConf.to_container(cfg.trainer, resolve=True))
    trainer_cfg.pop("logger", None)
    return instantiate(
        trainer_cfg, logger=False, callbacks=[], enable_checkpointing=False, default_root_dir=str(run_dir)
    )


def evaluate(settings: DictConfig, overrides: Sequence[str] = ()) -> dict[str, Any]:
    """Evaluate the weights ``settings`` name with their run's config; returns what it writes to eval.json."""
    started = time.perf_counter()
    weights = find_weights(settings)
    splits = chosen_splits(settings.split)
    cfg = run_config(weights.run_dir)
    apply_overrides(cfg, parse_overrides(overrides))
    task = check_config(cfg)  # the saved config with the overrides: the same checks a training run makes
    resolved = OmegaConf.to_container(cfg, resolve=True)
    output = Path(settings.output).expanduser() if settings.output else weights.run_dir / EVAL_FILE
    data = read_splits(task, **resolved["data"])
    L.seed_everything(cfg.seed, workers=True)  # as in training: a random-init backbone is built from the seed
    target = regression_target(cfg, task, data)  # from the training rows, as in training
    backbone = build_model(cfg, task, target)
    check_fits(backbone, task, resolved["data"])
    if weights.kind == "adapter_dir":
        load_adapter(backbone.model, weights.path)
    ckpt_path = None if weights.kind == "adapter_dir" else str(weights.path)
    datamodule = build_datamodule(cfg, backbone, task, data)
    module = build_module(cfg, backbone, datamodule)
    trainer = evaluation_trainer(cfg, weights.run_dir)
    score_splits(trainer, module, datamodule, ckpt_path, splits, verbose=True)
    results = {
        "metrics": {split: module.last_metrics.get(split, {}) for split in splits},
        "weights": weights.describe(),
        "run_dir": str(weights.run_dir),
        "overrides": list(overrides),
        **({"regression_target": target.record()} if target else {}),
        "config": resolved,
        "versions": versions(),
        "wall_time_s": time.perf_counter() - started,
    }
    if trainer.is_global_zero:
        write_json_atomic(output, results)
        log.info("evaluation written to %s", output)
    return results
