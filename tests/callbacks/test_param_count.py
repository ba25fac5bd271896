"""The parameter-count callback: SPEC numbers, a table whose rows add up, logged to the CSV logger."""

from __future__ import annotations

import pytest
import yaml

from src.callbacks import param_table
from tests.conftest import built_model

T5_BASE_PARAMS = 222_903_552  # SPEC section 3
KRONA_T5_BASE_ADAPTER = 110_592  # (32,24)/(24,32) on the 72 q/v layers
KRONA_T5_BASE_TRAINABLE = 158_208  # + 47,616 layer-norm parameters


def test_t5_base_krona_counts_match_the_paper_without_a_trainer(quick_run):
    results, run_dir = quick_run(
        "backbone=t5_base", "backbone.init=random", "adapter=krona", "adapter.train_layernorm=true",
        "train=false", "test=false", "callbacks.latency.enabled=false", "~trainer.logger",
    )  # fmt: skip
    table = results["param_table"]
    assert table["adapter"] == KRONA_T5_BASE_ADAPTER
    assert table["trainable"] == KRONA_T5_BASE_TRAINABLE
    assert table["backbone"] == T5_BASE_PARAMS
    assert table["trainable_pct_of_backbone"] == pytest.approx(0.0710, abs=5e-5)  # the paper's "0.07%"
    krona_rows = [row for row in table["rows"] if row["role"] == "adapter:krona"]
    assert [(r["module_type"], r["modules"], r["params"]) for r in krona_rows] == [
        ("KronA", 72, KRONA_T5_BASE_ADAPTER)
    ]
    logged = yaml.safe_load((run_dir / "csv" / "hparams.yaml").read_text())
    assert logged["params/trainable"] == KRONA_T5_BASE_TRAINABLE
    assert logged["params/adapter"] == KRONA_T5_BASE_ADAPTER


@pytest.mark.parametrize("backbone", ["tiny_bert", "tiny_t5"])
def test_rows_add_up_to_the_totals(make_config, backbone):
    built = built_model(make_config(f"backbone={backbone}", "adapter=lora"))
    table = param_table(built.model, built.placement())
    rows = table["rows"]
    assert sum(r["params"] for r in rows) == table["total"]  # tied T5 embeddings counted once
    assert sum(r["trainable"] for r in rows) == table["trainable"]
    assert sum(r["params"] for r in rows if r["role"].startswith("adapter:")) == table["adapter"] > 0
    assert sum(r["params"] for r in rows if r["role"] == "head") == table["head"]
    with_head = table["trainable"] / (table["backbone"] + table["head"])
    assert table["trainable_pct_of_backbone_with_head"] == pytest.approx(100 * with_head)
    if table["head"]:
        assert table["trainable_pct_of_backbone_with_head"] != pytest.approx(
            table["trainable_pct_of_backbone"]
        )
