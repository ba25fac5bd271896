"""``python -m src.train adapter=krona task=rte``: compose, build, fit, test, write results.json."""

from __future__ import annotations

import logging
from contextlib import nullcontext
from pathlib import Path

import hydra
from hydra.core.hydra_config import HydraConfig
from hydra.types import RunMode
from lightning.pytorch.utilities import rank_zero_only
from omegaconf import DictConfig, open_dict

from src.config import CONF_DIR
from src.errors import NumericsError, UserError
from src.run.cli import TaskStarted, hydra_cli, report_user_errors
from src.run.fit import objective, resume_point, run
from src.run.noise import filter_known_noise
from src.run.offline import go_offline_if_unreachable
from src.run.run_folder import claimed
from src.run.summary import print_summary

log = logging.getLogger(__name__)


def in_sweep() -> bool:
    return HydraConfig.initialized() and HydraConfig.get().mode == RunMode.MULTIRUN


@hydra.main(version_base="1.3", config_path=str(CONF_DIR), config_name="train")
def main(cfg: DictConfig) -> float | None:
    TaskStarted.value = True
    filter_known_noise()
    go_offline_if_unreachable()
    with report_user_errors():
        try:
            with claimed(Path(cfg.paths.output_dir)) if in_sweep() else nullcontext():
                with open_dict(cfg):
                    cfg.ckpt_path = resume_point(cfg)
                record = run(cfg)
        except UserError as error:
            if not in_sweep():
                raise
            # In a sweep the other jobs go on: a diverged trial (NumericsError) or a refused job is one failed
            # job, its results.json says why (an exit here would take the launcher's whole batch down).
            log.warning(
                "job recorded as %s: %s", "failed" if isinstance(error, NumericsError) else "refused", error
            )
            return None
    if rank_zero_only.rank == 0:
        print_summary(record, Path(cfg.paths.output_dir))
    return objective(record)


if __name__ == "__main__":
    hydra_cli(main)
