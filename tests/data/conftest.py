"""Fixtures for the data tests: the shared real GLUE files and tokenizers (read in place, never copied)."""

from __future__ import annotations

import functools
import os
import shutil
from pathlib import Path

import pytest
from transformers import AutoTokenizer

from src.data.readers import read_local
from src.data.tasks import get_task

REPO_ROOT = Path(__file__).resolve().parents[2]
SHARED = Path(os.environ.get("KRONLAB_SHARED", REPO_ROOT.parent / "shared"))


def _shared(relative: str) -> Path:
    path = SHARED / relative
    if not path.exists():
        pytest.skip(
            f"{path} not found: set KRONLAB_SHARED to the folder holding glue/, glue_samples/ and models/"
        )
    return path


@pytest.fixture(scope="session")
def glue_dir() -> Path:
    """Complete CoLA, SST-2, MRPC, STS-B, RTE, WNLI; QNLI dev only."""
    return _shared("glue")


@pytest.fixture(scope="session")
def samples_dir() -> Path:
    """Small real samples: MNLI (train, dev_matched), QQP and QNLI (train, dev)."""
    return _shared("glue_samples")


@pytest.fixture(scope="session")
def mnli_dir(samples_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A glue dir with MNLI train, dev_matched (48 rows) and a dev_mismatched of its first 40 rows."""
    root = tmp_path_factory.mktemp("glue")
    (root / "MNLI").mkdir()
    for name in ("train.tsv", "dev_matched.tsv"):
        shutil.copy(samples_dir / "MNLI" / name, root / "MNLI" / name)
    lines = (samples_dir / "MNLI" / "dev_matched.tsv").read_text(encoding="utf-8").splitlines(keepends=True)
    (root / "MNLI" / "dev_mismatched.tsv").write_text("".join(lines[:41]), encoding="utf-8")
    return root


@pytest.fixture(scope="session")
def cached_read(glue_dir: Path):
    """read_local over the shared glue dir, each (task, split) parsed once per session."""

    @functools.cache
    def read(task_name: str, split: str):
        return read_local(get_task(task_name), glue_dir, split)

    return read


@pytest.fixture(scope="session")
def bert_tokenizer():
    return AutoTokenizer.from_pretrained(_shared("models/all-MiniLM-L6-v2"))


@pytest.fixture(scope="session")
def t5_tokenizer():
    return AutoTokenizer.from_pretrained(_shared("models/t5-tokenizer"))
