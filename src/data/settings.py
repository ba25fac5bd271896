"""The ``data`` and ``task`` settings: types, defaults and allowed values, declared once.

The config schema (src/schema) types the composed config with these classes; ``__post_init__`` checks
the ranges when the settings are built, before any model or data is loaded.
"""

from __future__ import annotations

from dataclasses import dataclass

from src.fields import check_settings, setting

from .readers import SOURCES
from .regression_target import REGRESSION_TARGETS
from .splits import PROTOCOLS, SEARCH_VALIDATION_ROWS
from .tasks import TASKS


@dataclass
class DataSettings:
    """Where GLUE comes from, how it is split, tokenised and batched."""

    # $GLUE_DIR, else <shared>/glue when it exists, else null (the hub). A folder that does not exist is an error.
    glue_dir: str | None = "${oc.env:GLUE_DIR,${first_existing:${paths.shared_dir}/glue}}"
    source: str = setting(
        "auto", choices=SOURCES
    )  # auto: local when glue_dir is set, else the hub (nyu-mll/glue)
    # glue: report on dev (AdaKron) | compacter: dev halves / held-out train (KronA)
    split_protocol: str = setting("glue", choices=tuple(PROTOCOLS))
    split_seed: int = 42
    # split_protocol=search: training rows held out as the validation slice (the dev set is never read)
    search_validation_rows: int = setting(SEARCH_VALIDATION_ROWS, ge=1)
    max_length: int = setting("${task.max_length}", ge=1)
    batch_size: int = setting(32, ge=1)
    eval_batch_size: int = setting(64, ge=1)
    num_workers: int = setting(0, ge=0)
    max_train_samples: int | None = setting(None, ge=1)  # null: every training row
    max_eval_samples: int | None = setting(None, ge=1)  # null: every evaluation row

    def __post_init__(self) -> None:
        check_settings(self, "data")


@dataclass
class TaskSettings:
    """Which GLUE task, and the longest input its rows need."""

    name: str = setting(choices=tuple(TASKS))
    max_length: int = setting(ge=1)  # tokens; each task file sets its own
    # a regression task's head: raw (the papers') | head_bias (starts at the training labels' mean) |
    # standardised (learns the z-scored label, mapped back before scoring); see regression_target.py
    regression_target: str = setting("raw", choices=REGRESSION_TARGETS)

    def __post_init__(self) -> None:
        check_settings(self, "task")
