"""src.report over a tiny real sweep run in-process, and the analysis notebook executed headless on its table."""

from __future__ import annotations

import json
import statistics
from pathlib import Path

import nbformat
import pandas as pd
import pytest
from nbclient import NotebookClient

from src.config import ROOT
from src.paper_results import reference
from src.report import collect, glue_averages, main, summarise
from src.results import RESULTS_FILE, read_results
from src.train import run

from ..conftest import QUICK, compose_config

FAST_LATENCY = ("callbacks.latency.warmup=1", "callbacks.latency.iters=3", "callbacks.latency.repeats=1")
SWEEP = {  # a tiny factor-shape sweep, one shape with two seeds
    "0-shape412-seed1": ("adapter.a_shape=[4,12]", "adapter.b_shape=[12,4]", "seed=1"),
    "1-shape412-seed2": ("adapter.a_shape=[4,12]", "adapter.b_shape=[12,4]", "seed=2"),
    "2-shape68-seed1": ("adapter.a_shape=[6,8]", "adapter.b_shape=[8,6]", "seed=1"),
}


@pytest.fixture(scope="module")
def sweep_dir(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("multirun")
    for name, overrides in SWEEP.items():
        run(
            compose_config(
                [*QUICK, "backbone=tiny_bert", "task=rte", "adapter=krona", *FAST_LATENCY, *overrides],
                root / name,
            )
        )
    failed = root / "3-failed"
    failed.mkdir()
    (failed / RESULTS_FILE).write_text(
        json.dumps({"error": {"type": "RuntimeError", "message": "boom"}, "metrics": {}})
    )
    return root


def test_one_row_per_setting_with_mean_and_std_over_seeds(sweep_dir):
    runs = collect([sweep_dir])
    assert len(runs) == 3  # the failed run is left out
    table = summarise(runs).set_index("setting")
    two_seeds = table.loc["a_shape=[4, 12] b_shape=[12, 4]"]
    assert two_seeds["seeds"] == 2 and table.loc["a_shape=[6, 8] b_shape=[8, 6]"]["seeds"] == 1
    accuracies = [read_results(sweep_dir / name)["metrics"]["test"]["accuracy"] for name in list(SWEEP)[:2]]
    assert two_seeds["test/accuracy"] == pytest.approx(statistics.fmean(accuracies))
    assert two_seeds["test/accuracy_std"] == pytest.approx(statistics.stdev(accuracies))
    first = read_results(sweep_dir / "0-shape412-seed1")
    assert two_seeds["trainable"] == first["params"]["trainable"]
    assert two_seeds["latency_ratio"] == pytest.approx(
        statistics.fmean(read_results(sweep_dir / n)["latency"]["ratio"] for n in list(SWEEP)[:2])
    )
    assert two_seeds["step_ms"] > 0


def test_cli_writes_csv_and_markdown_with_paper_columns(sweep_dir, tmp_path, capsys):
    main([str(sweep_dir), "--paper", "--out", str(tmp_path)])
    csv = pd.read_csv(tmp_path / "report.csv")
    assert {"paper", "diff", "score", "test/accuracy", "latency_ratio", "step_ms"} <= set(csv.columns)
    assert csv["paper"].isna().all()  # tiny_bert is in no paper
    markdown = (tmp_path / "report.md").read_text()
    assert " ± " in markdown and markdown in capsys.readouterr().out


def test_missing_directory_is_a_clear_error(tmp_path):
    with pytest.raises(SystemExit):
        main([str(tmp_path / "nope")])


def test_paper_reference_follows_the_studies():
    assert reference("t5_base", "krona", "mnli", {"a_shape": [48, 16]}) == 86.50  # Table 9
    assert reference("t5_base", "krona", "mnli", {"a_shape": [5, 5]}) is None
    assert reference("bert_base", "adakron", "rte", {"a": 2, "r": 16}) == 71.8  # Table 3: (2, 8)
    assert reference("bert_base", "adakron", "rte", {"a": 4, "r": 48}) == 73.8  # main table, AdaKron_48
    assert reference("t5_base", "krona_res", "cola") == 66.73


def test_notebook_runs_headless_on_the_report(sweep_dir, tmp_path, monkeypatch):
    main([str(sweep_dir), "--out", str(tmp_path)])
    figures = tmp_path / "figures"
    monkeypatch.setenv("KRONLAB_REPORT", str(tmp_path / "report.csv"))
    monkeypatch.setenv("KRONLAB_FIGURES", str(figures))
    monkeypatch.setenv("MPLBACKEND", "Agg")
    notebook = nbformat.read(ROOT / "notebooks" / "analysis.ipynb", as_version=4)
    NotebookClient(
        notebook, timeout=120, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}
    ).execute()
    for name in ("score_vs_params.png", "latency_ratio.png", "factor_shapes.png"):
        assert (figures / name).stat().st_size > 1000, name
    shapes_output = json.dumps(notebook.cells[-1].outputs)
    assert "a_shape=[6, 8]" in shapes_output


def test_glue_average_row_only_when_all_eight_tasks_are_there():
    tasks = ["cola", "sst2", "mrpc", "qqp", "stsb", "mnli", "qnli", "rte"]
    table = pd.DataFrame(
        {
            "backbone": "t5_base",
            "method": "krona",
            "task": tasks,
            "setting": "",
            "seeds": 3,
            "score": range(80, 88),
        }
    )
    [average] = glue_averages(table).to_dict("records")
    assert (average["task"], average["score"], average["paper"]) == (
        "avg",
        83.5,
        reference("t5_base", "krona", "avg"),
    )
    assert glue_averages(table[table["task"] != "rte"]).empty


def test_an_undefined_metric_makes_the_mean_undefined(tmp_path):
    """A seed whose STS-B correlations are null (constant prediction) is not averaged away."""
    config = {"backbone": {"name": "t5_base"}, "adapter": {"name": "krona"}, "task": {"name": "stsb"}}
    for seed, pearson in ((1, 0.8), (2, None)):
        metrics = {"pearson": pearson, "spearman": pearson, "pearson_spearman_mean": pearson}
        (tmp_path / f"seed{seed}").mkdir()
        (tmp_path / f"seed{seed}" / RESULTS_FILE).write_text(
            json.dumps({"config": {**config, "seed": seed}, "metrics": {"test": metrics}})
        )
    [row] = summarise(collect([tmp_path]), with_paper=True).query("task == 'stsb'").to_dict("records")
    assert row["seeds"] == 2 and pd.isna(row["test/pearson"]) and pd.isna(row["score"])
    others = [
        {**row, "task": t, "score": 85.0} for t in ("cola", "sst2", "mrpc", "qqp", "mnli", "qnli", "rte")
    ]
    assert pd.isna(glue_averages(pd.DataFrame([*others, row]))["score"].iloc[0])
