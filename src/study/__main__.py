"""``python -m src.study study=<name> [study.<key>=<value> ...] [hydra/launcher=<name> ...] [<train overrides>]``

Runs a study (``conf/study/<name>.yaml``): the searches (Optuna, in ``study.search.storage``), the seed runs
at the values they chose, and the report (``<study.dir>/report.md``), every job a ``src.train`` run sent
through Hydra's launcher: joblib by default (``study.jobs`` side by side), ``hydra/launcher=submitit_local``,
``hydra/launcher=slurm`` (one array per batch, one GPU a job with ``trainer=gpu``). ``study.*`` keys set
the study, ``hydra/launcher`` and ``hydra.*`` keys the launcher; every other override goes to every job.
The same command after an interruption continues where it stopped.
"""

from __future__ import annotations

import sys

from src.run.cli import hydra_cli, report_user_errors


def main() -> None:
    from src.run.offline import go_offline_if_unreachable

    from .run import run_study

    go_offline_if_unreachable()
    with report_user_errors():
        run_study(sys.argv[1:])


if __name__ == "__main__":
    hydra_cli(main)
