"""Read one split of a GLUE task, from local TSV files (classic glue_data layout) or the HF hub.

Both readers return a `datasets.Dataset` with the task's text fields plus `label`
(a ClassLabel index, or a float score for regression), i.e. the hub's columns without `idx`.
"""

from __future__ import annotations

import csv
import functools
import math
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import BinaryIO

import datasets
import httpx

from src.errors import DataError

from .tasks import GlueTask

HUB_DATASET = "nyu-mll/glue"
SOURCES = ("auto", "local", "hub")

SplitReader = Callable[[str], datasets.Dataset]

_FIX_HINT = (
    "GLUE is expected in the classic glue_data layout (e.g. <glue_dir>/RTE/train.tsv). "
    "Fix: pass data.glue_dir=/path/to/glue_data (or set the GLUE_DIR environment variable), "
    "or use data.source=hub to download from the Hugging Face hub."
)


def _features(task: GlueTask) -> datasets.Features:
    label = (
        datasets.Value("float32") if task.is_regression else datasets.ClassLabel(names=list(task.label_names))
    )
    return datasets.Features(
        {**{name: datasets.Value("string") for name in task.text_fields}, "label": label}
    )


def read_local(task: GlueTask, glue_dir: str | os.PathLike, split: str) -> datasets.Dataset:
    """Parse `<glue_dir>/<task.local_dir>/<file of split>`; `split` is a hub split name (e.g. "validation")."""
    if split not in task.local_files:
        raise DataError(
            f"Task {task.name!r} has no local split {split!r}; known: {', '.join(task.local_files)}"
        )
    folder = Path(glue_dir) / task.local_dir
    path = folder / task.local_files[split]
    if not folder.is_dir():
        raise DataError(
            f"GLUE {task.name} data not found: expected the folder {folder} (with {path.name}). {_FIX_HINT}"
        )
    if not path.is_file():
        raise DataError(f"GLUE {task.name} data not found: expected the file {path}. {_FIX_HINT}")

    columns: dict[str, list] = {name: [] for name in [*task.text_fields, "label"]}
    for line, texts, raw_label in _rows(task, path):
        for name, text in zip(task.text_fields, texts, strict=True):
            columns[name].append(text)
        columns["label"].append(_parse_label(task, raw_label, path, line))
    if not columns["label"]:
        raise DataError(f"{path} is empty (no data rows). Re-download it; {_FIX_HINT}")
    return datasets.Dataset.from_dict(columns, features=_features(task))


def _rows(task: GlueTask, path: Path) -> Iterator[tuple[int, list[str], str]]:
    """Yield (1-based line number, texts, raw label) for every data row, checking the column count."""
    layout = task.tsv
    # QUOTE_NONE because GLUE text contains unpaired quotes.
    with path.open("rb") as file:
        reader = csv.reader(_decoded_lines(file, path), delimiter="\t", quoting=csv.QUOTE_NONE)
        if layout.has_header:
            header = next(reader, None)
            if header is None:
                raise DataError(f"{path} is empty (no header row). Re-download it; {_FIX_HINT}")
            absent = [name for name in [*layout.text_columns, layout.label_column] if name not in header]
            if absent:
                raise DataError(
                    f"{path}: header has no column(s) {absent}; found {header}. "
                    f"Is this the {task.local_dir} file of the classic glue_data layout?"
                )
            num_columns = len(header)
            text_indices = [header.index(name) for name in layout.text_columns]
            label_index = header.index(layout.label_column)
        else:
            num_columns = layout.num_columns
            text_indices, label_index = list(layout.text_columns), layout.label_column
        for values in reader:
            if len(values) != num_columns:
                raise DataError(
                    f"{path}, line {reader.line_num}: expected {num_columns} tab-separated columns, "
                    f"found {len(values)}. The file is malformed; re-download it."
                )
            yield reader.line_num, [values[i] for i in text_indices], values[label_index]


def _decoded_lines(file: BinaryIO, path: Path) -> Iterator[str]:
    """The file's lines as text, naming the line that is not UTF-8 (utf-8-sig strips MRPC's byte-order mark)."""
    for number, raw in enumerate(file, start=1):
        try:
            yield raw.decode("utf-8-sig" if number == 1 else "utf-8")
        except UnicodeDecodeError as error:
            raise DataError(
                f"{path}, line {number}: bytes that are not UTF-8 text ({error.reason} at byte {error.start} of the "
                "line). Is this the GLUE TSV file? Re-download it."
            ) from None


def _parse_label(task: GlueTask, raw: str, path: Path, line: int) -> int | float:
    if task.is_regression:
        try:
            score = float(raw)
        except ValueError:
            raise DataError(f"{path}, line {line}: label {raw!r} is not a number.") from None
        low, high = task.score_range or (-math.inf, math.inf)
        if not (math.isfinite(score) and low <= score <= high):
            raise DataError(
                f"{path}, line {line}: label {raw!r} is outside {task.name}'s range [{low:g}, {high:g}]. "
                "Fix or remove that row, or re-download the file."
            )
        return score
    try:
        return task.tsv.raw_labels.index(raw)
    except ValueError:
        raise DataError(
            f"{path}, line {line}: label {raw!r} is not one of {list(task.tsv.raw_labels)}."
        ) from None


def read_hub(task: GlueTask, split: str, cache_dir: str | None = None) -> datasets.Dataset:
    """Load one split of `nyu-mll/glue` from the hub (or its local cache)."""
    try:
        dataset = datasets.load_dataset(HUB_DATASET, task.hub_config, split=split, cache_dir=cache_dir)
    except (OSError, httpx.TransportError) as error:  # ConnectionError, offline mode, missing cache entry
        raise DataError(
            f"Could not load {HUB_DATASET} ({task.hub_config}, split {split!r}) from the Hugging Face hub: "
            f"{error}. If this machine is offline, point data.glue_dir at a local copy in the classic "
            f"glue_data layout (e.g. <glue_dir>/{task.local_dir}/train.tsv), or set GLUE_DIR, "
            "and use data.source=local."
        ) from error
    return dataset.select_columns([*task.text_fields, "label"])


def split_reader(
    task: GlueTask, source: str = "auto", glue_dir: str | os.PathLike | None = None
) -> SplitReader:
    """Choose where to read from. `glue_dir` defaults to $GLUE_DIR; "auto" reads locally when it exists."""
    if source not in SOURCES:
        raise DataError(f"Unknown data source {source!r}; choose one of: {', '.join(SOURCES)}")
    glue_dir = glue_dir or os.environ.get("GLUE_DIR")
    if source == "local" and not glue_dir:
        raise DataError(f"data.source=local needs a GLUE directory. {_FIX_HINT}")
    if source != "hub" and glue_dir and not Path(glue_dir).expanduser().is_dir():
        raise DataError(
            f"data.glue_dir={glue_dir} does not exist (or is not a folder). Point data.glue_dir (or GLUE_DIR) at "
            "the classic glue_data folder (e.g. <glue_dir>/RTE/train.tsv), or use data.source=hub."
        )
    if source == "local" or (source == "auto" and glue_dir):
        return functools.partial(read_local, task, glue_dir)
    return functools.partial(read_hub, task)
