"""Split protocols (SPEC §4) on the real files, plus their shape for every task on stand-in data."""

from __future__ import annotations

from pathlib import Path

import datasets
import pytest

from src.data import TASKS, DataError, get_task
from src.data.readers import split_reader
from src.data.splits import COMPACTER_HELD_OUT, eval_set_names, make_splits


def _reader_for(cached_read, name: str):
    """The real files, each row tagged with its position in its file."""

    def read(split: str) -> datasets.Dataset:
        dataset = cached_read(name, split)
        return dataset.add_column("row", list(range(len(dataset))))

    return read


def _is_partition(parts: list[datasets.Dataset], size: int) -> bool:
    rows = [row for part in parts for row in part["row"]]
    return sorted(rows) == list(range(size))


def test_glue_protocol_uses_the_official_files(cached_read):
    splits = make_splits(get_task("rte"), "glue", _reader_for(cached_read, "rte"), seed=0)
    assert len(splits["train"]) == 2490
    assert {name: len(dataset) for name, dataset in splits["validation"].items()} == {"": 277}
    assert splits["test"][""] is splits["validation"][""]


@pytest.mark.parametrize(("name", "dev_rows"), [("rte", 277), ("mrpc", 408), ("stsb", 1500), ("cola", 1043)])
def test_compacter_halves_the_dev_set(cached_read, name: str, dev_rows: int):
    splits = make_splits(get_task(name), "compacter", _reader_for(cached_read, name), seed=42)
    validation, test = splits["validation"][""], splits["test"][""]
    assert (len(validation), len(test)) == (dev_rows // 2, dev_rows - dev_rows // 2)
    assert _is_partition([validation, test], dev_rows)
    assert len(splits["train"]) == len(cached_read(name, "train"))


def test_compacter_split_is_deterministic_per_seed(cached_read):
    read = _reader_for(cached_read, "rte")
    first, again, other = (make_splits(get_task("rte"), "compacter", read, seed) for seed in (1, 1, 2))
    assert first["validation"][""]["row"] == again["validation"][""]["row"]
    assert first["test"][""]["row"] == again["test"][""]["row"]
    assert first["validation"][""]["row"] != other["validation"][""]["row"]
    assert not set(first["validation"][""]["row"]) & set(first["test"][""]["row"])


def test_compacter_holds_out_training_examples_for_large_tasks(cached_read):
    splits = make_splits(get_task("sst2"), "compacter", _reader_for(cached_read, "sst2"), seed=42)
    train, validation = splits["train"], splits["validation"][""]
    assert (len(train), len(validation)) == (67349 - COMPACTER_HELD_OUT, COMPACTER_HELD_OUT)
    assert _is_partition([train, validation], 67349)
    assert splits["test"][""]["row"] == list(range(872))


def test_compacter_refuses_a_training_set_too_small_to_hold_out(samples_dir: Path):
    read = split_reader(get_task("qnli"), "local", samples_dir)
    with pytest.raises(
        DataError, match="holds out 1000 qnli training examples.*only 32.*split_protocol=glue"
    ):
        make_splits(get_task("qnli"), "compacter", read, seed=0)


def test_mnli_protocols(mnli_dir: Path):
    mnli = get_task("mnli")
    read = split_reader(mnli, "local", mnli_dir)
    glue = make_splits(mnli, "glue", read, seed=0)
    assert {name: len(d) for name, d in glue["validation"].items()} == {"matched": 48, "mismatched": 40}
    assert {name: len(d) for name, d in glue["test"].items()} == {"matched": 48, "mismatched": 40}
    compacter = make_splits(mnli, "compacter", read, seed=0)
    assert len(compacter["validation"][""]) == 40  # dev-mismatched selects
    assert len(compacter["test"][""]) == 48  # dev-matched reports


def _stand_in_reader(task):
    def read(split: str) -> datasets.Dataset:
        rows = 2 * COMPACTER_HELD_OUT + 1
        labels = [0.5] * rows if task.is_regression else [0] * rows
        texts = {name: [f"{split} {i}" for i in range(rows)] for name in task.text_fields}
        return datasets.Dataset.from_dict({**texts, "label": labels})

    return read


@pytest.mark.parametrize("protocol", ["glue", "compacter", "search"])
@pytest.mark.parametrize("name", TASKS)
def test_eval_set_names_match_what_the_protocol_yields(name: str, protocol: str):
    task = get_task(name)
    splits = make_splits(task, protocol, _stand_in_reader(task), seed=0)
    assert list(splits["validation"]) == list(splits["test"]) == eval_set_names(task, protocol)
    expected = ["matched", "mismatched"] if (name, protocol) == ("mnli", "glue") else [""]
    assert eval_set_names(task, protocol) == expected


def test_unknown_protocol():
    with pytest.raises(ValueError, match="Unknown split protocol 'random'; choose one of: glue, compacter"):
        make_splits(get_task("rte"), "random", _stand_in_reader(get_task("rte")), seed=0)


def test_search_protocol_validates_on_training_rows_and_never_reads_dev(cached_read):
    requested = []

    def read(split: str) -> datasets.Dataset:
        requested.append(split)
        return _reader_for(cached_read, "sst2")(split)

    splits = make_splits(get_task("sst2"), "search", read, seed=7, search_validation_rows=500)
    train, validation = splits["train"], splits["validation"][""]
    assert requested == ["train"]
    assert (len(train), len(validation)) == (67349 - 500, 500)
    assert _is_partition([train, validation], 67349)
    assert splits["test"][""] is validation
    assert train["row"] == sorted(train["row"])  # file order: max_train_samples keeps the first rows
    again = make_splits(get_task("sst2"), "search", read, seed=7, search_validation_rows=500)
    other = make_splits(get_task("sst2"), "search", read, seed=8, search_validation_rows=500)
    assert again["validation"][""]["row"] == validation["row"] != other["validation"][""]["row"]


@pytest.mark.parametrize("rows", [0, 2490])
def test_search_protocol_refuses_a_slice_that_leaves_nothing_to_train_on(cached_read, rows: int):
    with pytest.raises(DataError, match=r"search_validation_rows=.*1 to 2489"):
        make_splits(
            get_task("rte"), "search", _reader_for(cached_read, "rte"), seed=0, search_validation_rows=rows
        )
