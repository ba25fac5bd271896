"""Scoring a trained model on the eval splits, each set of rows once: under the glue and search protocols the test
set is the validation set, so the test pass (on the weights it tests: merged where they merge) stands for both."""

from __future__ import annotations

from collections.abc import Sequence

import lightning as L

from src.data import GlueDataModule
from src.training.module import GlueModule


def score_splits(
    trainer: L.Trainer,
    module: GlueModule,
    datamodule: GlueDataModule,
    ckpt_path: str | None,
    splits: Sequence[str] = ("validation", "test"),
    verbose: bool = False,
) -> None:
    """Validate and/or test ``ckpt_path``; ``module.last_metrics`` holds every chosen split's scores afterwards."""
    datamodule.setup("test")
    once = {"validation", "test"} <= set(splits) and datamodule.test_is_validation()
    for split in splits:
        if once and split == "validation":
            continue
        run_split = trainer.validate if split == "validation" else trainer.test
        run_split(module, datamodule=datamodule, ckpt_path=ckpt_path, verbose=verbose)
    if once:
        module.report_test_as_validation()
