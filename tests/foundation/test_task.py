"""The task is built once from the config and handed to the data module, the LightningModule and the
metrics; the backbone does not carry it."""

from __future__ import annotations

import dataclasses

from src.data import get_task
from src.run.build import build_datamodule, build_model, build_module
from src.schema import check_config
from tests.conftest import compose_config


def test_the_checked_task_is_the_one_the_data_module_module_and_metrics_get(tmp_path):
    cfg = compose_config(["backbone=tiny_bert", "task=stsb", "adapter=lora"], tmp_path)
    assert check_config(cfg) is get_task("stsb")
    task = dataclasses.replace(get_task("stsb"))  # a copy: only an object handed on is this one
    backbone = build_model(cfg, task)
    datamodule = build_datamodule(cfg, backbone, task)
    module = build_module(cfg, backbone, datamodule)
    assert datamodule.task is task and module.task is task
    assert not hasattr(backbone, "task")
    assert set(module.metrics["validation"][0]) == {"pearson", "spearman"}  # STS-B's, not a classifier's
    assert backbone.model.config.num_labels == 1 and backbone.regression
