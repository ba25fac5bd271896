"""A real Optuna search through the CLI, as a user runs it: ``python -m src.train -m hparams_search=krona_b``
on tiny_bert with the joblib launcher, then its choices into the learning-rate file the benchmark reads."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from omegaconf import OmegaConf

import bench.common
import bench.search_results
from bench import quality
from src.config import ROOT
from src.results import read_results
from src.train import objective
from tests.conftest import GLUE_DIR, SHARED


@pytest.mark.slow
def test_optuna_search_end_to_end_and_into_the_benchmark_config(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    sweep_dir = tmp_path / "sweep"
    command = [
        sys.executable, "-m", "src.train", "-m", "hparams_search=krona_b", "backbone=tiny_bert", "task=rte",
        "debug=default", "data.search_validation_rows=16", "data.max_eval_samples=16", "hydra.sweeper.n_trials=2",
        "hydra/launcher=parallel", "hydra.launcher.n_jobs=2", f"hydra.sweep.dir={sweep_dir}", f"data.glue_dir={GLUE_DIR}",
    ]  # fmt: skip
    env = os.environ | {"KRONLAB_SHARED": str(SHARED), "HF_HUB_OFFLINE": "1", "OMP_NUM_THREADS": "1"}
    done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "Joblib.Parallel(n_jobs=2" in done.stdout + done.stderr

    best = OmegaConf.load(sweep_dir / "optimization_results.yaml")
    assert set(best.best_params) == {"optim.lr", "adapter.scale"}
    trials = [read_results(p) for p in sorted(sweep_dir.iterdir()) if (p / "results.json").exists()]
    assert len(trials) == 2
    for results in trials:
        config = results["config"]
        assert config["adapter"]["name"] == "krona_b" and config["data"]["split_protocol"] == "search"
        assert 1e-4 <= config["optim"]["lr"] <= 5e-2 and config["adapter"]["scale"] in (4.0, 16.0)
    assert len({r["config"]["optim"]["lr"] for r in trials}) == 2  # sampled, not fixed
    assert best.best_value == max(objective(r) for r in trials)  # the sweeper maximised main's return value

    lr_file = tmp_path / "quality_lr.yaml"
    monkeypatch.setattr(bench.search_results, "LR_FILE", lr_file)
    monkeypatch.setattr(bench.common, "RESULTS_DIR", tmp_path / "results")
    sweep = bench.search_results.read_sweep(sweep_dir)
    bench.search_results.record("smoke", [sweep])
    bench.search_results.write_search_table("smoke", [sweep])
    assert (tmp_path / "results" / "search_smoke.md").read_text().count("| tiny_bert | rte | krona_b |") == 2
    chosen = {
        f"optim.lr={best.best_params['optim.lr']}",
        f"adapter.scale={best.best_params['adapter.scale']}",
    }
    assert set(quality.learning_rate("smoke", "tiny_bert", "rte", "krona_b")[0]) == chosen
    assert quality.learning_rate("smoke", "tiny_bert", "rte", "krona_b")[1] == "searched"
    assert quality.learning_rate("smoke", "tiny_bert", "sst2", "krona_b")[1].startswith("NOT SEARCHED")


@pytest.mark.slow
def test_a_diverged_trial_is_recorded_as_failed_and_the_search_goes_on(tmp_path: Path):
    """lr ~1e7 makes every trial's loss NaN at step 2: each trial fails on its own (NumericsError in its
    results.json) and the search runs them all; with none left to choose from Optuna says so at the end."""
    sweep_dir = tmp_path / "sweep"
    command = [
        sys.executable, "-m", "src.train", "-m", "hparams_search=full", "backbone=tiny_bert", "task=rte",
        "debug=default", "callbacks=default", "callbacks.latency.enabled=false", "callbacks.merge.enabled=false",
        "trainer.limit_train_batches=3", "data.max_train_samples=12", "data.search_validation_rows=16",
        "hydra.sweeper.n_trials=2", "optim.lr=tag(log, interval(1e6, 1e8))", f"hydra.sweep.dir={sweep_dir}",
        f"data.glue_dir={GLUE_DIR}",
    ]  # fmt: skip
    env = os.environ | {"KRONLAB_SHARED": str(SHARED), "HF_HUB_OFFLINE": "1", "OMP_NUM_THREADS": "1"}
    done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    output = done.stdout + done.stderr
    assert output.count("trial diverged, recorded as failed") == 2
    trials = [read_results(p) for p in sorted(sweep_dir.iterdir()) if (p / "results.json").exists()]
    assert [r["error"]["type"] for r in trials] == ["NumericsError", "NumericsError"]
    assert done.returncode != 0 and "No trials are completed yet" in output
