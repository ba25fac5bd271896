"""A real parallel multirun: ``python -m src.train -m`` with the joblib launcher, as the README runs it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from src.config import ROOT
from src.record import read_record
from src.reporting.runs import collect
from sweeps.factor_shapes import factor_shapes, sweep_override

from ..conftest import GLUE_DIR
from .wandb_records import offline_run


def test_factor_shape_sweep_runs_in_parallel_with_one_directory_and_wandb_run_per_job(wandb_sandbox: Path):
    shapes = factor_shapes(48, 48, square=True, min_side=2, limit=2)
    env = {**os.environ, "TOKENIZERS_PARALLELISM": "false"}  # wandb_sandbox set: no API key, no ~/.netrc
    command = [
        sys.executable, "-m", "src.train", "-m",
        "+sweep=krona_shapes", sweep_override(shapes),
        "backbone=tiny_bert", "task=rte", "debug=default",
        "hydra/launcher=parallel", "hydra.launcher.n_jobs=2",
        "logger=wandb", "logger.tags=[sweep-test]",
        f"data.glue_dir={GLUE_DIR}", f"paths.log_dir={wandb_sandbox / 'logs'}",
    ]  # fmt: skip
    done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "Joblib.Parallel(n_jobs=2" in done.stderr + done.stdout
    assert "no API key" in done.stderr + done.stdout  # fell back to offline, with a warning

    [sweep_dir] = (wandb_sandbox / "logs" / "multiruns").iterdir()
    job_dirs = sorted(p for p in sweep_dir.iterdir() if p.is_dir())
    assert [p.name for p in job_dirs] == ["0-rte-krona", "1-rte-krona"]
    for job_dir, (a_shape, b_shape) in zip(job_dirs, shapes, strict=True):
        record = read_record(job_dir)
        assert record.finished and record.error is None
        assert tuple(record.config["adapter"]["a_shape"]) == a_shape
        assert tuple(record.config["adapter"]["b_shape"]) == b_shape
        try:
            logged = offline_run(job_dir)
        except AssertionError as error:
            raise AssertionError(f"{error}\n{(job_dir / 'train.log').read_text()[-3000:]}") from error
        assert logged["exit_code"] == 0
        assert logged["group"] == sweep_dir.name  # the group is the sweep
        assert logged["tags"] == ["sweep-test"]
        assert logged["name"] == job_dir.name
        assert logged["config"]["adapter"]["a_shape"] == list(a_shape)
        # the swept value as one config column (W&B groups and draws parallel coordinates on it)
        assert (
            logged["config"]["overrides"]["kron_shapes"]
            == f"[[{a_shape[0]},{a_shape[1]}],[{b_shape[0]},{b_shape[1]}]]"
        )
        assert logged["config"]["overrides"]["backbone"] == "tiny_bert"
        assert len(logged["history"]["val/primary"]) == 2  # debug preset: two one-batch epochs
        assert logged["summary"]["params"]["trainable"] == record.section("params")["trainable"]
        assert logged["summary"]["metrics"]["test"] == record.scores("test")
        assert any(kind == "adapter" for kind, _ in logged["artifacts"])

    table = collect([sweep_dir])
    assert sorted(table["setting"]) == sorted(
        f"a_shape=[{a[0]}, {a[1]}] b_shape=[{b[0]}, {b[1]}]" for a, b in shapes
    )
