"""A study's settings and command line: mistakes refused in one line before any work, the search space
parsed from Hydra's sweep grammar, and what counts as the same run."""

from __future__ import annotations

import pytest
from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution

from src.errors import ConfigError
from src.study.identity import identity
from src.study.run import split_arguments
from src.study.space import distribution

from .helpers import study_cli


def test_the_search_space_is_read_from_hydras_sweep_grammar():
    assert distribution("optim.lr", "tag(log, interval(1e-4, 5e-2))") == FloatDistribution(
        1e-4, 5e-2, log=True
    )
    assert distribution("adapter.scale", "choice(4.0, 16.0)") == CategoricalDistribution([4.0, 16.0])
    assert distribution("adapter.r", "range(2, 10, 2)") == IntDistribution(2, 8, step=2)
    with pytest.raises(ConfigError, match="one value, not a range"):
        distribution("optim.lr", "0.001")


def test_the_command_line_splits_into_study_launcher_and_job_overrides():
    study, launcher, jobs = split_arguments(
        [
            "study=cpu",
            "study.search.trials=4",
            "hydra/launcher=slurm",
            "hydra.launcher.partition=gpu",
            "trainer=gpu",
        ]
    )
    assert study == ["study=cpu", "study.search.trials=4"]
    assert launcher == ["hydra/launcher=slurm", "hydra.launcher.partition=gpu"]
    assert jobs == ["trainer=gpu"]


def test_where_a_run_lies_is_not_what_it_computed():
    config = {"seed": 1, "optim": {"lr": 1e-3}, "paths": {"output_dir": "/a"}, "data": {"glue_dir": "/x/glue"},
              "logger": {"save_dir": "/a"}, "backbone": {"pretrained": "/x/models/m"}}  # fmt: skip
    moved = {**config, "paths": {"output_dir": "/b"}, "data": {"glue_dir": "/y/glue"}, "logger": {"save_dir": "/b"},
             "backbone": {"pretrained": "/y/models/m"}}  # fmt: skip
    assert identity(config) == identity(moved)
    assert identity(config) != identity({**config, "seed": 2})
    assert identity(config) != identity({**config, "optim": {"lr": 2e-3}})
    compiled = {**config, "trainer": {"max_epochs": 1, "compile": True, "compile_backend": "inductor"}}
    assert identity({**config, "trainer": {"max_epochs": 1}}) == identity(compiled)
    assert identity(compiled) != identity({**compiled, "trainer": {"max_epochs": 2, "compile": True}})


def test_a_setting_added_later_at_its_earlier_value_keeps_the_runs_identity():
    """Runs recorded before backbone.quantize existed computed with a float backbone: they are still reused."""
    before = {"seed": 1, "backbone": {"name": "minilm"}}
    assert identity(before) == identity({**before, "backbone": {"name": "minilm", "quantize": "none"}})
    assert identity(before) != identity({**before, "backbone": {"name": "minilm", "quantize": "nf4"}})


@pytest.mark.parametrize(
    "args, message",
    [
        (["study=smoke", "study.search.trials=0"], "study.search.trials=0"),
        (["study=smoke", "study.rows.peft_lora.lr_from=missing"], "lr_from='missing': no such row"),
        (["study=smoke", "study.claims=[{name: x, better: lora, worse: nope}]"], "names row 'nope'"),
        (["study=smoke", "adapter.rank=-1"], "adapter.rank"),
        (["study=smoke", "study.stage=everything"], "study.stage"),
    ],
)
def test_a_mistake_is_refused_before_anything_runs(args, message, tmp_path):
    from omegaconf.errors import OmegaConfBaseException

    from src.errors import UserError
    from src.study.run import run_study

    with pytest.raises((UserError, OmegaConfBaseException)) as refused:
        run_study([*args, f"study.dir={tmp_path / 'study'}"])
    assert message in str(refused.value)
    assert not (tmp_path / "study").exists()  # nothing was written, nothing sent


@pytest.mark.parametrize(
    "args, message",
    [(["study=nope"], "study"), (["study=smoke", "study.rows.lora.adapter=nope"], "nope")],
)
def test_on_the_command_line_a_mistake_is_one_line_and_exit_2(args, message, tmp_path):
    done = study_cli(tmp_path / "study", *args, timeout=120)
    lines = done.stderr.strip().splitlines()
    assert done.returncode == 2, done.stderr[-2000:]
    assert lines[-1].startswith("error: ") and message in lines[-1], lines[-3:]
    assert not (tmp_path / "study" / "launches").exists()  # nothing was sent
