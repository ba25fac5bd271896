"""The issue's commands as a user runs them: counts only, on a random bert_base, printed and in results.json."""

from __future__ import annotations

import pytest

from tests.foundation.cli import results_of, train_cli

pytestmark = pytest.mark.slow

COUNTS_ONLY = (
    "backbone=bert_base",
    "backbone.init=random",
    "train=false",
    "test=false",
    "callbacks.latency.enabled=false",
)


@pytest.mark.parametrize(
    ("adapter", "per_layer"),
    [
        (("adapter=krona", "adapter.terms=2"), 2 * (32 * 24 + 24 * 32)),  # two (32,24)/(24,32) terms
        (("adapter=lokr",), 24 * 24 + 32 * 8 + 8 * 32),  # PEFT's A (24,24), B_a (32,8), B_b (8,32)
    ],
    ids=["krona_terms2", "lokr"],
)
def test_counts_printed_and_recorded(tmp_path, adapter, per_layer):
    done = train_cli(*COUNTS_ONLY, *adapter, run_dir=tmp_path)
    assert done.returncode == 0, done.stderr[-2000:]
    expected = 24 * per_layer  # 12 layers x query and value
    assert f"{expected:,}" in done.stdout + done.stderr
    assert results_of(tmp_path)["params"]["adapter"] == expected
