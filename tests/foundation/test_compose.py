"""Every option of every config group composes into a complete config."""

from __future__ import annotations

import pytest
from omegaconf import OmegaConf

from src.config import CONF_DIR
from tests.conftest import compose_config

GROUPS = ["backbone", "adapter", "task", "trainer", "optim", "logger", "callbacks", "paths", "hydra", "debug"]


def options(group: str) -> list[str]:
    return sorted(p.stem for p in (CONF_DIR / group).glob("*.yaml"))


@pytest.mark.parametrize(("group", "option"), [(g, o) for g in GROUPS for o in options(g)])
def test_every_option_composes(group: str, option: str, tmp_path) -> None:
    cfg = compose_config([f"{group}={option}"], tmp_path)
    resolved = OmegaConf.to_container(cfg, resolve=True)
    assert resolved["task"]["name"] and resolved["backbone"]["family"] and resolved["adapter"]["name"]


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
