"""DeBERTa and decoder-only classifiers through the command line on real RTE rows: one epoch, end to end, as a
user runs them; the bf16 preset on a decoder; and the counts-only run of the full-size YAMLs (no download)."""

from __future__ import annotations

import pytest

from .cli import results_of, train_cli

pytestmark = pytest.mark.slow

ONE_EPOCH = (
    "task=rte",
    "trainer.max_epochs=1",
    "data.max_train_samples=32",
    "data.max_eval_samples=16",
    "data.batch_size=8",
    "data.eval_batch_size=16",
    "callbacks.latency.warmup=1",
    "callbacks.latency.iters=2",
    "callbacks.latency.repeats=1",
)


@pytest.mark.parametrize(
    ("backbone", "adapter"), [("tiny_deberta", "krona"), ("tiny_llama", "lora"), ("tiny_qwen2", "prefix")]
)
def test_trains_one_epoch_on_real_rte(tmp_path, backbone, adapter):
    run_dir = tmp_path / backbone
    done = train_cli(f"backbone={backbone}", f"adapter={adapter}", *ONE_EPOCH, run_dir=run_dir)
    assert done.returncode == 0, done.stderr[-3000:]
    results = results_of(run_dir)
    assert 0 < results["params"]["adapter"] < results["params"]["trainable"] < results["params"]["total"]
    for split in ("validation", "test"):
        assert 0.0 <= results["metrics"][split]["accuracy"] <= 1.0
    assert (run_dir / "checkpoints" / "last.ckpt").exists()


def test_bf16_preset_trains_a_decoder(tmp_path):
    run_dir = tmp_path / "bf16"
    done = train_cli(
        "backbone=tiny_llama",
        "adapter=krona",
        "trainer=bf16",
        "trainer.accelerator=cpu",
        *ONE_EPOCH,
        "trainer.limit_train_batches=2",
        run_dir=run_dir,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    results = results_of(run_dir)
    assert results["config"]["trainer"]["precision"] == "bf16-mixed"
    assert 0.0 <= results["metrics"]["validation"]["accuracy"] <= 1.0


def test_refusal_is_one_line_and_exit_2(tmp_path):
    done = train_cli(
        "backbone=tiny_deberta",
        "adapter=prefix",
        "task=rte",
        "train=false",
        "test=false",
        run_dir=tmp_path / "r",
    )
    assert done.returncode == 2
    assert (
        done.stderr.strip()
        .splitlines()[-1]
        .startswith("error: prefix tuning cannot apply to this model: DeBERTa")
    )


def test_fsdp_preset_builds_lightnings_fsdp_strategy_for_frozen_backbones():
    from hydra.utils import instantiate
    from lightning.pytorch.strategies import FSDPStrategy

    from tests.conftest import compose_config

    cfg = compose_config(["trainer=fsdp", "backbone=tiny_llama", "adapter=lora"])
    strategy = instantiate(cfg.trainer.strategy)
    assert isinstance(strategy, FSDPStrategy)
    assert strategy.kwargs["use_orig_params"] is True  # frozen backbone and trainable adapters in one unit
    assert cfg.trainer.precision == "bf16-mixed"
    assert callable(strategy.kwargs["auto_wrap_policy"])  # submodules over 1M parameters wrapped on their own
