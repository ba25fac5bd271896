"""Shared fixtures: where the real data lives, and composing/running the Hydra config in-process."""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from pathlib import Path

import pytest
from hydra import compose, initialize_config_dir
from omegaconf import DictConfig, open_dict

from src.config import CONF_DIR, ROOT
from src.data import get_task

SHARED = Path(os.environ.get("KRONLAB_SHARED", ROOT.parent / "shared")).resolve()
GLUE_DIR = SHARED / "glue"
MINILM_DIR = SHARED / "models" / "all-MiniLM-L6-v2"
T5_TOKENIZER_DIR = SHARED / "models" / "t5-tokenizer"

# A tiny model, a few real rows, one batch each way: the cheapest full pass through the framework.
QUICK = (
    "trainer=debug",
    "data.max_train_samples=8",
    "data.max_eval_samples=8",
    "data.batch_size=4",
    "data.eval_batch_size=4",
    # the latency callback's code path, not the paper protocol's 2,100 forwards (harmless with callbacks=none)
    "++callbacks.latency.warmup=1",
    "++callbacks.latency.iters=3",
    "++callbacks.latency.repeats=1",
)


def built_model(cfg: DictConfig):
    """``src.run.build.build_model`` for the task ``cfg`` names."""
    from src.run.build import build_model

    return build_model(cfg, get_task(cfg.task.name))


def built_datamodule(cfg: DictConfig, backbone):
    """``src.run.build.build_datamodule`` for the task ``cfg`` names."""
    from src.run.build import build_datamodule

    return build_datamodule(cfg, backbone, get_task(cfg.task.name))


@pytest.fixture(autouse=True, scope="session")
def one_thread():
    """Tiny matrices gain nothing from threads, and on a 2-core machine threads wait on each other."""
    import torch

    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)


def compose_config(overrides: Sequence[str], output_dir: Path | None = None) -> DictConfig:
    """The config ``python -m src.train <overrides>`` would see, with the run directory set."""
    with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
        cfg = compose(config_name="train", overrides=[f"data.glue_dir={GLUE_DIR}", *overrides])
    if output_dir is not None:
        with open_dict(cfg):
            cfg.paths.output_dir = str(output_dir)
    return cfg


@pytest.fixture
def make_config(tmp_path: Path) -> Callable[..., DictConfig]:
    def make(*overrides: str) -> DictConfig:
        return compose_config(overrides, tmp_path / "run")

    return make


@pytest.fixture
def run_quick(tmp_path: Path) -> Callable[..., dict]:
    """Run one cheap train+val+test in-process through ``src.run.fit.run`` and return its results.json."""
    from src.run.fit import run

    def go(*overrides: str) -> dict:
        return run(compose_config([*QUICK, *overrides], tmp_path / "run")).to_json()

    return go
