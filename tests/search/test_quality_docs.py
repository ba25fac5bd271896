"""docs/BENCHMARKS.md's quality tables are generated from the cpu study's committed report, not typed."""

from __future__ import annotations

import json

import pytest

from bench import quality_docs
from bench.common import RESULTS_DIR


def _row(method: str, scores: dict[str, float], **extra) -> dict:
    values = sorted(scores.values())
    return {
        "backbone": "minilm", "task": "sst2", "method": method, "metric": "accuracy", "trainable": 37634,
        "median": values[len(values) // 2], "iqr": values[-1] - values[0], "seeds": len(values), "failed": 0,
        "majority": 50.9, "step_ms": 650.0, "minutes_per_run": 1.7, "lr": "optim.lr=0.004848", "lr_source": "searched",
        "scores": scores, **extra,
    }  # fmt: skip


QUALITY = {
    "rows": [
        _row("bitfit", {"1": 77.0, "2": 78.0, "3": 76.0}, label="BitFit", lr_source="NOT SEARCHED (fallback)"),
        _row("lora", {"1": 80.0, "2": 81.0, "3": 80.0, "4": 52.0}, label="LoRA r=4 (q, v)"),
        _row("krona", {"1": 81.0, "2": 79.0, "3": 80.0, "4": 80.0}, label="KronA", lr="adapter.scale=4.0 optim.lr=0.0131"),
    ],
    "claims": [{"backbone": "minilm", "task": "sst2", "comparison": "KronA above LoRA at equal parameters",
                "source": "KronA paper", "paired_seeds": 3, "mean_difference": -1 / 3, "ci_low": -2.5, "ci_high": 1.5,
                "verdict": "not resolved at this budget", "did_not_learn": {"krona": [], "lora": [4]}, "differences": [1.0, -2.0, 0.0]}],
    "parity": [],
}  # fmt: skip
DOC = "# intro kept\n\n<!-- bench.quality_docs rows sst2 -->\nstale table\n<!-- /bench.quality_docs -->\n\nprose kept\n"


def test_a_block_is_replaced_by_the_table_and_the_text_around_it_is_kept():
    text = quality_docs.fill(DOC, QUALITY)
    assert text.startswith("# intro kept\n\n<!-- bench.quality_docs rows sst2 -->\n") and text.endswith(
        "prose kept\n"
    )
    assert "stale table" not in text
    lines = [line for line in text.splitlines() if line.startswith("| ") and not line.startswith("| row ")]
    assert [line.split(" | ")[0] for line in lines] == [
        "| bitfit",
        "| lora",
        "| krona",
    ]  # the study's row order
    assert "| krona | KronA | 37,634 | s=4 0.013 | 80.0 | 2.0 | 4 | 650 | 1.7 |" in text
    assert "0.0048 NOT SEARCHED" in text and "majority class 50.9" in text
    assert quality_docs.fill(text, QUALITY) == text  # filling twice changes nothing


def test_claim_rows_show_the_per_seed_differences_of_the_rows_scores():
    doc = "<!-- bench.quality_docs claims -->\n<!-- /bench.quality_docs -->\n"
    text = quality_docs.fill(doc, QUALITY)
    # seed 4: LoRA stayed at the majority class (52.0 < 50.9 + 10), so it is listed and not paired
    row = "| SST-2 | KronA above LoRA at equal parameters (KronA paper) | LoRA r=4 (q, v) seeds 4 | +1.00, -2.00, 0 | -0.33 |"
    assert row in text


def test_a_task_with_no_runs_says_how_to_run_it():
    doc = "<!-- bench.quality_docs rows stsb -->\n<!-- /bench.quality_docs -->\n"
    assert "Not run yet: `python -m src.study study=cpu` (task stsb)." in quality_docs.fill(doc, QUALITY)


@pytest.mark.parametrize(
    "doc, message",
    [
        ("no markers at all\n", "has no '<!-- bench.quality_docs NAME -->'"),
        ("<!-- bench.quality_docs rows -->\n<!-- /bench.quality_docs -->\n", "unknown table 'rows'"),
        (
            "<!-- bench.quality_docs figure sst2 -->\n<!-- /bench.quality_docs -->\n",
            "unknown table 'figure sst2'",
        ),
    ],
)
def test_a_doc_the_tables_cannot_fill_is_refused_in_one_line(doc: str, message: str):
    with pytest.raises(quality_docs.DocError, match=message.replace("(", r"\(").replace(")", r"\)")):
        quality_docs.fill(doc, QUALITY)


def test_the_committed_docs_quote_the_committed_tables():
    """Fails when the cpu study was rerun and `python -m bench.quality_docs` was not."""
    quality = json.loads((RESULTS_DIR / "quality.json").read_text())
    text = quality_docs.DOC.read_text()
    assert quality_docs.fill(text, quality) == text


def test_a_regression_task_is_read_against_the_frozen_encoders_score():
    stsb = {"rows": [_row("lora", {"1": 70.0, "2": 72.0, "3": 71.0}, task="stsb", metric="pearson", majority=None,
                          zero_shot=87.0)]}  # fmt: skip
    doc = "<!-- bench.quality_docs rows stsb -->\n<!-- /bench.quality_docs -->\n"
    text = quality_docs.fill(doc, stsb)
    assert (
        "Dev pearson x100" in text
        and "nothing trained, scores 87.0" in text
        and "majority class 5" not in text
    )
