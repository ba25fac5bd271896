"""Every paper-reproduction config composes with the paper's settings; one per paper x method family runs."""

from __future__ import annotations

import dataclasses

import pytest
from hydra import compose, initialize_config_dir
from omegaconf import DictConfig, open_dict

from src.adapters import get_method
from src.config import CONF_DIR
from src.schema import check_config
from tests.conftest import GLUE_DIR

EXPERIMENTS = sorted(
    str(p.relative_to(CONF_DIR / "experiment").with_suffix(""))
    for p in (CONF_DIR / "experiment").rglob("*.yaml")
)
# SPEC §2: KronA's A shape per task (B is A reversed).
KRONA_A = {
    "cola": [32, 24],
    "rte": [32, 24],
    "mrpc": [32, 24],
    "sst2": [24, 32],
    "qqp": [24, 32],
    "stsb": [2, 384],
    "mnli": [2, 384],
    "qnli": [3, 256],
}
PAPER_BACKBONE = {
    "krona_t5": "t5_base",
    "adakron_bert": "bert_base",
    "adakron_roberta_large": "roberta_large",
}
TASKS = set(KRONA_A)
RUN_ONE_STEP = [  # one per paper x method family, in-process on a tiny random backbone
    ("krona_t5/rte_krona", "tiny_t5"),
    ("krona_t5/rte_krona_res", "tiny_t5"),
    ("adakron_bert/rte_adakron", "tiny_bert"),
]


@pytest.fixture(scope="module")
def composed() -> dict[str, DictConfig]:
    """All experiments composed once (one Hydra initialisation: composing is the slow part)."""
    with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
        return {name: compose(config_name="train", overrides=[f"experiment={name}"]) for name in EXPERIMENTS}


def test_every_paper_backbone_task_has_its_main_method():
    assert {f"krona_t5/{t}_{m}" for t in TASKS for m in ("krona", "krona_b", "krona_res")} <= set(EXPERIMENTS)
    assert {f"adakron_bert/{t}_adakron" for t in TASKS} <= set(EXPERIMENTS)
    assert {f"adakron_roberta_large/{t}_adakron" for t in TASKS} <= set(EXPERIMENTS)


def test_every_experiment_passes_the_schema_checks(composed, tmp_path):
    for name, cfg in composed.items():
        with open_dict(cfg):
            cfg.paths.output_dir = str(tmp_path)
            cfg.data.glue_dir = str(GLUE_DIR)
        try:
            check_config(cfg)
        except Exception as error:
            raise AssertionError(f"experiment={name}: {error}") from error


def test_file_names_match_what_they_select(composed):
    for name, cfg in composed.items():
        paper, stem = name.split("/")
        task, method = stem.split("_", 1)
        assert cfg.backbone.name == PAPER_BACKBONE[paper], name
        assert cfg.task.name == task, name
        assert cfg.adapter.name == method.removesuffix("32"), name  # adakron32 is AdaKron_32


def test_krona_t5_settings(composed):
    for name, cfg in composed.items():
        if not name.startswith("krona_t5/"):
            continue
        task = cfg.task.name
        assert cfg.data.split_protocol == "compacter" and cfg.data.batch_size == 100, name
        assert cfg.trainer.max_epochs == 20, name
        assert cfg.backbone.predict == "generate", name  # SPEC §4: the KronA protocol generates
        assert cfg.optim.lr == (2e-3 if task == "rte" else 1e-3), name
        if cfg.adapter.name == "krona":
            assert (
                list(cfg.adapter.a_shape) == KRONA_A[task]
                and list(cfg.adapter.b_shape) == KRONA_A[task][::-1]
            )
            assert cfg.adapter.scale == 1.0
        if cfg.adapter.name in ("krona_b", "krona_res"):
            a, b = list(cfg.adapter.a_shape), list(cfg.adapter.b_shape)
            assert a[0] * b[0] == 768 and a[1] * b[1] == 768, name  # STS-B's typo in the paper is fixed
        if cfg.adapter.name != "full":
            assert cfg.adapter.train_layernorm is True, name


def test_adakron_settings(composed):
    for name, cfg in composed.items():
        if not name.startswith("adakron_"):
            continue
        task = cfg.task.name
        assert cfg.data.split_protocol == "glue" and cfg.data.batch_size == 64, name
        assert cfg.data.max_length == (256 if task == "rte" else 128), name
        assert (cfg.optim.weight_decay, cfg.optim.warmup_ratio, cfg.optim.scheduler) == (
            0.1,
            0.06,
            "linear",
        ), name
        if cfg.adapter.name != "full":
            assert cfg.optim.lr == (5e-4 if task in ("rte", "qqp") else 3e-4), name
        if name.endswith("_adakron"):
            expected_r = 16 if cfg.backbone.name == "roberta_large" else 48
            assert (cfg.adapter.r, cfg.adapter.a) == (expected_r, 4), name


def default_shapes(adapter: str) -> list[str]:
    """Paper shapes are for d = 768: put back the adapter's own default (its config dataclass's) for the tiny
    d = 48 backbones."""
    defaults = {f.name: f.default for f in dataclasses.fields(get_method(adapter).config)}
    if "a_shape" not in defaults:
        return []
    return [f"adapter.a_shape={defaults['a_shape']}", f"adapter.b_shape={defaults['b_shape']}"]


@pytest.mark.parametrize(("experiment", "backbone"), RUN_ONE_STEP)
def test_runs_one_step_on_a_tiny_backbone(experiment, backbone, run_quick, composed):
    adapter = composed[experiment].adapter.name
    results = run_quick(
        f"experiment={experiment}",
        f"backbone={backbone}",
        "trainer.max_epochs=1",
        "data.batch_size=4",
        "callbacks=none",
        *default_shapes(adapter),
    )
    assert results["config"]["adapter"]["name"] == adapter
    assert results["config"]["data"]["split_protocol"] == composed[experiment].data.split_protocol
    assert 0 < results["params"]["trainable"] < results["params"]["total"]
    assert results["metrics"]["test"]
