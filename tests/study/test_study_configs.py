"""Every shipped study composes, passes its checks and builds every job's config; the W&B group; and the
committed cpu study: its report is rebuilt from the committed runs and trials without training anything."""

from __future__ import annotations

import json

import pytest

from src.config import CONF_DIR
from src.study.compose import compose_study
from src.study.jobs import seed_jobs
from src.study.run import check_jobs
from src.study.settings import check_study

from .helpers import study_cli

STUDIES = sorted(p.stem for p in (CONF_DIR / "study").glob("*.yaml"))


@pytest.mark.parametrize("name", STUDIES)
def test_every_study_composes_and_every_row_is_a_valid_run(name):
    study = compose_study([f"study={name}"])
    check_study(study)
    assert check_jobs(study, []) == []  # every (backbone, task, row) config built and checked
    jobs = seed_jobs(study, {}, [])
    assert len({job.run_dir for job in jobs}) == len(jobs)  # no two runs share a folder
    assert STUDIES == sorted(["cpu", "cpu_shapes", "paper_bert", "paper_t5", "smoke"])


def test_a_study_logging_to_wandb_is_one_wandb_group():
    study = compose_study(["study=smoke"])
    assert check_jobs(study, ["logger=wandb_offline"]) == ["logger=wandb_offline", "logger.group=study-smoke"]
    assert check_jobs(study, ["logger=wandb_offline", "logger.group=mine"]) == [
        "logger=wandb_offline",
        "logger.group=mine",
    ]
    assert check_jobs(study, []) == []  # the csv logger has no group


@pytest.mark.slow
def test_the_cpu_study_rebuilds_its_committed_report_without_training(tmp_path):
    from src.config import ROOT

    committed = json.loads((ROOT / "bench" / "results" / "quality.json").read_text())
    plan = study_cli(tmp_path / "unused", "study=cpu", f"study.dir={ROOT / 'bench/results/studies/cpu'}",
                     "study.dry_run=true", timeout=300)  # fmt: skip
    assert plan.returncode == 0, plan.stderr[-2000:]
    assert "would launch" not in plan.stdout  # every search complete, every run finished: nothing to train
    again = study_cli(tmp_path / "unused", "study=cpu", f"study.dir={ROOT / 'bench/results/studies/cpu'}",
                      "study.stage=report", f"study.report={tmp_path / 'quality'}", timeout=300)  # fmt: skip
    assert again.returncode == 0, again.stderr[-2000:]
    rebuilt = json.loads((tmp_path / "quality.json").read_text())
    for key in ("rows", "claims", "parity"):
        for old, new in zip(committed[key], rebuilt[key], strict=True):
            for field in ("median", "iqr", "seeds", "scores", "differences", "verdict", "ci_low", "ci_high"):
                assert old.get(field) == new.get(field), (
                    key,
                    old.get("method") or old.get("comparison"),
                    field,
                )
