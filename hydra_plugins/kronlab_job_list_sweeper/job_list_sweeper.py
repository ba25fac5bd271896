"""``hydra/sweeper=job_list``: launch a given list of jobs, each with its own overrides, through whatever
launcher Hydra is configured with (joblib, submitit local or SLURM, Ray). Hydra's basic sweeper launches
a cartesian product; a study's jobs (rows with different size settings, trials Optuna asked for) are a
list. A job that fails is left to its results.json: the other jobs of the batch still count.

    python -m src.train -m hydra/sweeper=job_list hydra.sweeper.jobs_file=jobs.json hydra/launcher=slurm

``jobs.json``: ``{"jobs": [["backbone=minilm", "adapter=lora", "seed=1"], ...]}``; the command line's own
overrides go to every job.
"""

# no `from __future__ import annotations`: Hydra loads plugin modules outside sys.modules, where
# dataclasses cannot resolve string annotations
import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hydra.core.config_store import ConfigStore
from hydra.core.utils import JobReturn, JobStatus
from hydra.plugins.launcher import Launcher
from hydra.plugins.sweeper import Sweeper
from hydra.types import HydraContext, TaskFunction
from omegaconf import DictConfig, OmegaConf

log = logging.getLogger(__name__)


@dataclass
class JobListSweeperConf:
    _target_: str = "hydra_plugins.kronlab_job_list_sweeper.job_list_sweeper.JobListSweeper"
    jobs_file: str = "???"
    max_batch_size: int | None = None  # jobs handed to the launcher at once (null: all of them)


ConfigStore.instance().store(
    group="hydra/sweeper", name="job_list", node=JobListSweeperConf, provider="kronlab"
)


class JobListSweeper(Sweeper):
    def __init__(self, jobs_file: str, max_batch_size: int | None = None) -> None:
        self.jobs_file = Path(jobs_file)
        self.max_batch_size = max_batch_size
        self.config: DictConfig | None = None
        self.launcher: Launcher | None = None

    def setup(self, *, hydra_context: HydraContext, task_function: TaskFunction, config: DictConfig) -> None:
        from hydra.core.plugins import Plugins

        self.config = config
        self.launcher = Plugins.instance().instantiate_launcher(
            hydra_context=hydra_context, task_function=task_function, config=config
        )

    def sweep(self, arguments: list[str]) -> list[Sequence[JobReturn]]:
        assert self.config is not None and self.launcher is not None
        jobs = [[*arguments, *job] for job in json.loads(self.jobs_file.read_text())["jobs"]]
        sweep_dir = Path(self.config.hydra.sweep.dir)
        sweep_dir.mkdir(parents=True, exist_ok=True)
        OmegaConf.save(self.config, sweep_dir / "multirun.yaml")
        size = self.max_batch_size or len(jobs) or 1
        returns = []
        for start in range(0, len(jobs), size):
            batch = jobs[start : start + size]
            results = self.launcher.launch(batch, initial_job_idx=start)
            failed = [r for r in results if r.status == JobStatus.FAILED]
            for result in failed:
                log.error("job failed: %s", _reason(result))
            returns.append(results)
        return returns


def _reason(result: Any) -> str:
    error = result._return_value  # the exception the job raised (JobReturn.return_value would re-raise it)
    return f"{' '.join(result.overrides or [])[-300:]}: {type(error).__name__}: {error}"
