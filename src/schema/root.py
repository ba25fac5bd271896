"""The top of the config (``conf/train.yaml``): run switches, ``paths``, and one field per config group."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from omegaconf import MISSING

from src.backbones import BackboneSettings
from src.data.settings import DataSettings, TaskSettings
from src.fields import setting
from src.training.module import OptimSettings

from .trainer import TrainerSettings


@dataclass
class PathsSettings:
    root_dir: str = "${oc.env:KRONLAB_ROOT}"
    shared_dir: str = "${oc.env:KRONLAB_SHARED,${paths.root_dir}/../shared}"  # GLUE TSVs, local models
    log_dir: str = "${paths.root_dir}/logs"  # runs go to <log_dir>/runs, multiruns to <log_dir>/multiruns
    output_dir: str = "${hydra:runtime.output_dir}"


@dataclass
class TrainSettings(dict[str, Any]):  # a dict subclass: a sweep may add helper keys (kron_shapes, ...)
    seed: int = setting(
        42, ge=0, le=2**32 - 1
    )  # seed_everything(seed, workers=True); also the training order
    train: bool = True  # fit, validating every epoch and keeping the best checkpoint
    test: bool = True  # validate and test the best checkpoint
    ckpt_path: str | None = (
        None  # resume from a Lightning checkpoint: a path, or last (the run dir's last.ckpt)
    )
    data: DataSettings = field(default_factory=DataSettings)
    backbone: BackboneSettings = MISSING
    task: TaskSettings = MISSING
    adapter: Any = MISSING  # typed by the chosen method's schema (schema/adapter/<name>)
    trainer: TrainerSettings = field(default_factory=TrainerSettings)
    optim: OptimSettings = field(default_factory=OptimSettings)
    logger: Any = None  # a Lightning logger's keyword arguments (_target_), checked against its signature
    callbacks: dict[str, Any] = field(
        default_factory=dict
    )  # name -> a callback's keyword arguments (_target_)
    paths: PathsSettings = field(default_factory=PathsSettings)
