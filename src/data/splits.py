"""Split protocols (SPEC §4): which data a run trains on, selects checkpoints on, and reports.

Each protocol returns {"train": Dataset, "validation": {name: Dataset}, "test": {name: Dataset}},
the eval dicts keyed by eval-set name: "" for one set, "matched"/"mismatched" for MNLI.
"""

from __future__ import annotations

import functools
import random
from collections.abc import Callable
from typing import TypedDict

import datasets

from src.errors import DataError

from .readers import SplitReader
from .tasks import GlueTask


class Splits(TypedDict):
    train: datasets.Dataset
    validation: dict[str, datasets.Dataset]
    test: dict[str, datasets.Dataset]


# Size of the training hold-out used as validation by the Compacter code for large tasks.
COMPACTER_HELD_OUT = 1000
# Training rows the search protocol holds out as its validation slice (data.search_validation_rows).
SEARCH_VALIDATION_ROWS = 1000


def glue_protocol(task: GlueTask, read: SplitReader, seed: int) -> Splits:
    """AdaKron: train on train; select and report on the official dev set(s)."""
    dev = {name: read(split) for name, split in task.eval_splits.items()}
    return {"train": read("train"), "validation": dev, "test": dict(dev)}


def compacter_protocol(task: GlueTask, read: SplitReader, seed: int) -> Splits:
    """KronA (its Compacter code): a test set disjoint from the one used for model selection.

    The KronA paper's text says the 1k held-out training examples were the test set; the code
    it used makes them the validation set and the official dev set the test set. This follows the code.
    """
    if task.compacter_rule == "halve_dev":
        dev = read(task.eval_splits[""]).shuffle(seed=seed)
        half = len(dev) // 2
        return {
            "train": read("train"),
            "validation": {"": dev.select(range(half))},
            "test": {"": dev.select(range(half, len(dev)))},
        }
    if task.compacter_rule == "hold_out_train":
        dev, train = read(task.eval_splits[""]), read("train")
        if len(train) <= COMPACTER_HELD_OUT:
            raise DataError(
                f"The compacter protocol holds out {COMPACTER_HELD_OUT} {task.name} training examples "
                f"for validation, but the training set has only {len(train)}. "
                "Use the full training file, or data.split_protocol=glue."
            )
        parts = train.train_test_split(test_size=COMPACTER_HELD_OUT, shuffle=True, seed=seed)
        return {"train": parts["train"], "validation": {"": parts["test"]}, "test": {"": dev}}
    if task.compacter_rule == "mismatched_dev":
        return {
            "train": read("train"),
            "validation": {"": read(task.eval_splits["mismatched"])},
            "test": {"": read(task.eval_splits["matched"])},
        }
    raise ValueError(f"Unknown compacter rule {task.compacter_rule!r} for task {task.name!r}")


def search_protocol(
    task: GlueTask, read: SplitReader, seed: int, rows: int = SEARCH_VALIDATION_ROWS
) -> Splits:
    """Hyperparameter search: validate (and test) on ``rows`` training rows drawn with ``seed``; train on
    the other rows, in file order (so ``max_train_samples`` takes nearly the rows a dev-protocol run takes).
    The official dev set, which the benchmark reports, is never read."""
    train = read("train")
    if not 0 < rows < len(train):
        raise DataError(
            f"data.search_validation_rows={rows}: the search protocol holds that many {task.name} training "
            f"rows out for validation; use 1 to {len(train) - 1} (the training set has {len(train)} rows)."
        )
    held_out = set(random.Random(seed).sample(range(len(train)), rows))
    kept = [i for i in range(len(train)) if i not in held_out]
    validation = train.select(sorted(held_out))
    return {"train": train.select(kept), "validation": {"": validation}, "test": {"": validation}}


PROTOCOLS: dict[str, Callable[[GlueTask, SplitReader, int], Splits]] = {
    "glue": glue_protocol,
    "compacter": compacter_protocol,
    "search": search_protocol,
}


def eval_set_names(task: GlueTask, protocol: str) -> list[str]:
    """Names of the eval sets a protocol yields, known without reading any data."""
    return list(task.eval_splits) if protocol == "glue" else [""]


def make_splits(
    task: GlueTask,
    protocol: str,
    read: SplitReader,
    seed: int,
    search_validation_rows: int = SEARCH_VALIDATION_ROWS,
) -> Splits:
    try:
        apply_protocol = PROTOCOLS[protocol]
    except KeyError:
        raise DataError(
            f"Unknown split protocol {protocol!r}; choose one of: {', '.join(PROTOCOLS)}"
        ) from None
    if protocol == "search":
        apply_protocol = functools.partial(search_protocol, rows=search_validation_rows)
    return apply_protocol(task, read, seed)
