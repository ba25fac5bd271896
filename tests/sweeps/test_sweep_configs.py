"""The Hydra sweeps expand into the jobs their papers' tables list, and each job's config is valid."""

from __future__ import annotations

import pytest
from omegaconf import OmegaConf

from src.adapters.kron import kron_shape
from sweeps.factor_shapes import PAPER_TABLE_9

from ..conftest import compose_config
from .sweep_jobs import compose_with_hydra, sweep_jobs

ADAKRON_TABLE_3 = [(2, 4), (2, 8), (2, 16), (2, 24), (2, 32), (2, 128), (4, 2), (4, 4), (4, 8), (4, 12)]


def adapter_of(job: list[str]) -> dict:
    return OmegaConf.to_container(compose_config(job).adapter, resolve=True)


def test_krona_shapes_sweep_is_table_9_on_768_layers():
    jobs = sweep_jobs(["+sweep=krona_shapes", "experiment=krona_t5/mnli_krona"])
    adapters = [adapter_of(job) for job in jobs]
    assert [tuple(a["a_shape"]) for a in adapters] == PAPER_TABLE_9
    for adapter in adapters:
        assert adapter["name"] == "krona"
        assert adapter["b_shape"] == adapter["a_shape"][::-1]
        assert kron_shape(adapter["a_shape"], adapter["b_shape"]) == (768, 768)


def test_command_line_shapes_replace_the_sweep_and_any_task_or_method_works():
    jobs = sweep_jobs(
        ["+sweep=krona_shapes", "adapter=krona_b", "task=rte", "kron_shapes=[[4,12],[12,4]],[[6,8],[8,6]]"]
    )
    configs = [compose_config(job) for job in jobs]
    assert [list(c.adapter.a_shape) for c in configs] == [[4, 12], [6, 8]]
    assert {c.adapter.name for c in configs} == {"krona_b"}
    assert {c.task.name for c in configs} == {"rte"}


def test_adakron_dims_sweep_is_table_3():
    jobs = sweep_jobs(["+sweep=adakron_dims", "experiment=adakron_bert/rte_adakron"])
    adapters = [adapter_of(job) for job in jobs]
    assert [(a["a"], a["r"] // a["a"]) for a in adapters] == ADAKRON_TABLE_3
    assert all(a["name"] == "adakron" and a["r"] % a["a"] == 0 for a in adapters)


def test_lr_seed_grid_for_any_method_and_task():
    jobs = sweep_jobs(["+sweep=lr_seed", "adapter=lora", "task=mrpc"])
    configs = [compose_config(job) for job in jobs]
    assert len(configs) == 12
    assert {(c.optim.lr, c.seed) for c in configs} == {
        (lr, s) for lr in (1e-4, 3e-4, 1e-3, 3e-3) for s in (1, 2, 3)
    }
    assert {c.adapter.name for c in configs} == {"lora"}


@pytest.mark.parametrize(
    ("launcher", "target"),
    [
        ("parallel", "hydra_plugins.hydra_joblib_launcher.joblib_launcher.JoblibLauncher"),
        ("slurm", "hydra_plugins.hydra_submitit_launcher.submitit_launcher.SlurmLauncher"),
    ],
)
def test_launchers_compose(launcher, target):
    hydra_cfg = compose_with_hydra([f"hydra/launcher={launcher}", "+sweep=lr_seed"]).hydra
    assert hydra_cfg.launcher._target_ == target
    assert OmegaConf.to_container(hydra_cfg.sweep)["subdir"].startswith("${hydra.job.num}-")  # unique per job


def test_each_multirun_gets_its_own_sweep_directory():
    first = compose_with_hydra(["+sweep=lr_seed"])
    second = compose_with_hydra(["+sweep=lr_seed"])
    assert first.hydra.sweep.dir != second.hydra.sweep.dir  # same second, different ${unique:} suffix
