"""One tiny_bert + LoRA training run through the CLI (under umask 022), shared by the tests of this package."""

from __future__ import annotations

from pathlib import Path

import pytest

from .cli import TINY_LORA, cli


@pytest.fixture(scope="package")
def trained(tmp_path_factory: pytest.TempPathFactory) -> Path:
    run_dir = tmp_path_factory.mktemp("trained") / "run"
    done = cli("src.train", *TINY_LORA, f"hydra.run.dir={run_dir}", umask=0o022)
    assert done.returncode == 0, done.stderr[-3000:]
    return run_dir
