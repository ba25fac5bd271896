"""Through the command line, on real GLUE rows: the pretrained MiniLM, a tiny T5, and DDP."""

from __future__ import annotations

import math

import pytest

from src.adapters import count_parameters
from tests.conftest import MINILM_DIR, T5_TOKENIZER_DIR, built_model, compose_config

from .cli import results_of, train_cli

pytestmark = pytest.mark.slow

FEW_STEPS = (
    "trainer.max_epochs=1",
    "trainer.limit_train_batches=4",
    "data.max_train_samples=64",
    "data.max_eval_samples=48",
    "data.batch_size=16",
    "data.eval_batch_size=24",
    "callbacks.latency.warmup=2",
    "callbacks.latency.iters=5",
    "callbacks.latency.repeats=1",
)


def assert_results_complete(results: dict, splits=("validation", "test")) -> None:
    assert set(results["params"]) >= {"total", "trainable", "adapter", "trainable_pct"}
    assert set(results["versions"]) >= {"python", "torch", "transformers", "lightning", "git_commit"}
    assert results["config"]["task"]["name"] and results["wall_time_s"] > 0
    for split in splits:
        assert results["metrics"][split], f"no {split} metrics"


def test_krona_on_real_rte_with_pretrained_minilm(tmp_path) -> None:
    run_dir = tmp_path / "minilm"
    done = train_cli("backbone=minilm", "adapter=krona", "task=rte", *FEW_STEPS, run_dir=run_dir)
    assert done.returncode == 0, done.stderr[-3000:]
    results = results_of(run_dir)
    assert_results_complete(results)
    assert results["config"]["backbone"]["pretrained"] == str(MINILM_DIR)
    for split in ("validation", "test"):
        assert 0.0 <= results["metrics"][split]["accuracy"] <= 1.0
    # 6 layers x (query, value) x (24x16 + 16x24): the balanced factors for hidden size 384.
    assert results["params"]["adapter"] == 6 * 2 * (24 * 16 + 16 * 24)
    assert (run_dir / "checkpoints" / "last.ckpt").exists()


@pytest.mark.parametrize(("task", "metric"), [("rte", "accuracy"), ("stsb", "spearman")])
def test_t5_text_to_text_on_real_rows(task: str, metric: str, tmp_path) -> None:
    run_dir = tmp_path / task
    done = train_cli(
        "backbone=tiny_t5",
        "adapter=krona",
        f"task={task}",
        *FEW_STEPS,
        "trainer.limit_train_batches=1",
        run_dir=run_dir,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    results = results_of(run_dir)
    assert_results_complete(results)
    assert results["config"]["backbone"]["tokenizer"] == str(T5_TOKENIZER_DIR)
    value = results["metrics"]["validation"][metric]
    assert value is None or (-1.0 <= value <= 1.0 and not math.isnan(value))


def test_ddp_on_two_cpu_processes(tmp_path) -> None:
    ddp = tmp_path / "ddp"
    common = ("backbone=tiny_bert", "adapter=krona", "task=rte", *FEW_STEPS, "trainer.limit_train_batches=2")
    done = train_cli(*common, "trainer=ddp", run_dir=ddp)
    assert done.returncode == 0, done.stderr[-3000:]
    results = results_of(ddp)
    assert results["config"]["trainer"]["strategy"] == "ddp" and results["config"]["trainer"]["devices"] == 2
    single = built_model(compose_config(common))
    assert results["params"] == count_parameters(single.model, single.placement())
    assert_results_complete(results)


def test_inspect_only_writes_params_and_exits(tmp_path) -> None:
    run_dir = tmp_path / "inspect"
    done = train_cli(
        "backbone=t5_base",
        "backbone.init=random",
        "adapter=krona",
        "train=false",
        "test=false",
        run_dir=run_dir,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    results = results_of(run_dir)
    assert results["params"]["total"] == 222_903_552 + results["params"]["adapter"]
    assert results["params"]["adapter"] == 110_592
    assert results["metrics"] == {}
    assert not (run_dir / "checkpoints").exists()
