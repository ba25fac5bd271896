"""What a W&B run holds after the README's quick command (tiny model, few real rows), read back from its log:
curves with several points for loss, learning rate and validation metrics, no one-point history keys,
the composed config untouched, single measurements in the summary and config."""

from __future__ import annotations

import pytest
import wandb

from src.run.fit import run
from tests.conftest import compose_config

from .wandb_records import offline_run

# The README's quick run (one epoch, validating four times) at tiny scale: 64 rows in batches of 4 = 16 steps.
README_QUICK = (
    "backbone=tiny_bert",
    "adapter=krona",
    "task=rte",
    "trainer.max_epochs=1",
    "trainer.val_check_interval=0.25",
    "data.max_train_samples=64",
    "data.max_eval_samples=8",
    "data.batch_size=4",
    "data.eval_batch_size=8",
    "callbacks.latency.warmup=1",
    "callbacks.latency.iters=3",
    "callbacks.latency.repeats=2",
    "logger=wandb_offline",
)


@pytest.fixture(scope="module")
def logged(tmp_path_factory):

    root = tmp_path_factory.mktemp("wandb_quick")
    with pytest.MonkeyPatch.context() as patch:
        for var in ("WANDB_API_KEY", "WANDB_MODE", "WANDB_SWEEP_ID", "WANDB_RUN_ID", "WANDB_RUN_GROUP"):
            patch.delenv(var, raising=False)
        patch.setenv("HOME", str(root))
        for var, sub in (
            ("WANDB_CONFIG_DIR", "config"),
            ("WANDB_CACHE_DIR", "cache"),
            ("WANDB_DATA_DIR", "data"),
        ):
            patch.setenv(var, str(root / "wandb-home" / sub))
        patch.setenv("WANDB_SILENT", "true")
        cfg = compose_config(README_QUICK, root / "run")
        results = run(cfg).to_json()
        wandb.teardown()  # the W&B service writes the run log asynchronously: stop it, so the log is complete
        return cfg, results, offline_run(root / "run")


def test_loss_learning_rate_and_validation_have_curves(logged):
    _, _, wandb_run = logged
    history = wandb_run["history"]
    lr_keys = [k for k in history if k.startswith("lr-AdamW")]
    assert lr_keys, sorted(history)
    for key in ["train/loss", "val/accuracy", "val/loss", "train/step_ms", *lr_keys]:
        assert len(history.get(key, [])) > 1, (key, history.get(key))
    assert len(history["val/accuracy"]) == 4  # val_check_interval=0.25
    learning_rates = history[lr_keys[0]]
    assert learning_rates == sorted(learning_rates, reverse=True) and learning_rates[0] > learning_rates[-1]


def test_no_history_key_has_a_single_point(logged):
    _, _, wandb_run = logged
    single = sorted(k for k, values in wandb_run["history"].items() if len(values) < 2)
    assert not single, f"one-point history keys (single numbers belong in summary/config): {single}"


def test_config_is_the_composed_hydra_config(logged):
    from omegaconf import OmegaConf

    cfg, _, wandb_run = logged
    composed = OmegaConf.to_container(cfg, resolve=True)
    for key, value in composed.items():
        assert wandb_run["config"][key] == value, key
    assert wandb_run["config"]["task"]["name"] == "rte" and isinstance(wandb_run["config"]["task"], dict)


def test_single_measurements_are_in_summary_and_config(logged):
    _, results, wandb_run = logged
    config, summary = wandb_run["config"], wandb_run["summary"]
    assert config["params/trainable"] == results["param_table"]["trainable"]
    assert config["latency/ratio"] == pytest.approx(results["latency"]["ratio"])
    assert summary["test/accuracy"] == pytest.approx(results["metrics"]["test"]["accuracy"])
    assert summary["latency"]["protocol"] == "custom"  # the counts above are not a named protocol
    assert summary["train_speed"]["measured_steps"] == results["train_speed"]["measured_steps"]


def test_the_checked_in_workspace_reads_keys_this_run_logs(logged):
    from sweeps.wandb.workspace import CURVES, SHAPE, config_keys, kronlab_workspace, summary_keys

    kronlab_workspace("entity", "kronlab")._to_model()  # W&B's own schema accepts the view (no network)
    _, _, wandb_run = logged
    assert set(CURVES.values()) <= set(wandb_run["history"])

    def lookup(tree: dict, dotted: str):
        if dotted in tree:
            return tree[dotted]
        head, _, rest = dotted.partition(".")
        return lookup(tree[head], rest)

    for key in summary_keys():
        assert isinstance(lookup(wandb_run["summary"], key), float), key
    for key in config_keys():
        if key != SHAPE:  # overrides.kron_shapes exists in factor-shape sweeps: test_multirun.py
            assert lookup(wandb_run["config"], key) is not None, key
