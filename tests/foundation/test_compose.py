"""Every option of every config group composes into a complete config that passes the schema's checks."""

from __future__ import annotations

import dataclasses
import sys

import pytest
import yaml
from omegaconf import OmegaConf

from src.adapters import get_method
from src.config import CONF_DIR
from src.run.cli import hydra_cli
from src.schema import check_config
from tests.conftest import compose_config

GROUPS = [
    "backbone",
    "adapter",
    "task",
    "trainer",
    "optim",
    "logger",
    "callbacks",
    "paths",
    "hydra",
    "debug",
]


def options(group: str) -> list[str]:
    return sorted(p.stem for p in (CONF_DIR / group).glob("*.yaml"))


@pytest.mark.parametrize(("group", "option"), [(g, o) for g in GROUPS for o in options(g)])
def test_every_option_composes(group: str, option: str, tmp_path) -> None:
    cfg = compose_config([f"{group}={option}"], tmp_path)
    resolved = OmegaConf.to_container(cfg, resolve=True)
    assert resolved["task"]["name"] and resolved["backbone"]["family"] and resolved["adapter"]["name"]
    check_config(cfg)  # every setting typed and in range, every _target_ keyword known


@pytest.mark.parametrize("sweep", options("sweep"))
def test_every_sweep_composes_and_validates(sweep: str, tmp_path) -> None:
    check_config(compose_config([f"+sweep={sweep}"], tmp_path))


@pytest.mark.parametrize(("group", "option"), [("adapter", o) for o in options("adapter")])
def test_each_adapter_option_is_typed_by_its_methods_dataclass(group: str, option: str, tmp_path) -> None:
    cfg = compose_config([f"{group}={option}"], tmp_path)
    method = get_method(cfg.adapter.name)
    assert OmegaConf.get_type(cfg.adapter).__name__ == method.config.__name__
    assert set(cfg.adapter) == {f.name for f in dataclasses.fields(method.config)}  # every setting shown


def test_yaml_files_hold_values_not_a_copy_of_the_defaults() -> None:
    """An adapter YAML sets only what differs from its method's dataclass (the schema holds the defaults)."""
    for path in sorted((CONF_DIR / "adapter").glob("*.yaml")):
        values = yaml.safe_load(path.read_text()) or {}
        defaults = {f.name: f.default for f in dataclasses.fields(get_method(path.stem).config)}
        repeated = {k: v for k, v in values.items() if k in defaults and defaults[k] == v}
        assert not repeated, f"{path.name} restates defaults of its dataclass: {repeated}"


def test_cfg_job_shows_every_setting(monkeypatch, capsys) -> None:
    """``python -m src.train --cfg job`` (in-process) prints the schema's defaults, not only what YAML files set."""
    import src.train as train

    monkeypatch.setattr(sys, "argv", ["src.train", "--cfg", "job", "adapter=lora", "backbone=tiny_bert"])
    hydra_cli(train.main)
    shown = yaml.safe_load(capsys.readouterr().out)
    assert shown["optim"]["lr"] == 1e-3 and shown["optim"]["warmup_ratio"] == 0.0
    assert shown["trainer"]["max_epochs"] == 3 and shown["trainer"]["precision"] == "32-true"
    assert shown["data"]["batch_size"] == 32 and shown["seed"] == 42
    assert shown["adapter"] == {
        **{f.name: f.default for f in dataclasses.fields(get_method("lora").config)},
        "name": "lora",
    }


def test_every_group_has_options() -> None:
    assert all(options(g) for g in GROUPS), {g: options(g) for g in GROUPS}


def test_groups_named_by_the_brief_exist() -> None:
    assert {"bert_base", "roberta_base", "roberta_large", "t5_small", "t5_base", "minilm"} <= set(
        options("backbone")
    )
    assert {"cola", "sst2", "mrpc", "qqp", "stsb", "mnli", "qnli", "rte", "wnli"} == set(options("task"))
    assert {"default", "cpu", "gpu", "ddp", "bf16", "fsdp", "debug"} <= set(options("trainer"))
    assert {"deberta_v3_base", "electra_base", "qwen2_0_5b", "smollm2_360m"} <= set(options("backbone"))
    assert {"csv", "tensorboard", "wandb"} <= set(options("logger"))


def test_a_mapping_setting_that_defaults_to_null_takes_a_mapping_override(tmp_path) -> None:
    cfg = compose_config(
        ["adapter=peft", "adapter.peft_type=LORA", "adapter.peft_config={r: 4, lora_alpha: 4}"], tmp_path
    )
    check_config(cfg)
    assert cfg.adapter.peft_config == {"r": 4, "lora_alpha": 4}
