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
from src.errors import ConfigError
from src.record import RESULTS_FILE, read_record
from src.report import main
from src.reporting.figures import factor_shapes, latency_ratio, score_vs_params
from src.reporting.paper_results import reference
from src.reporting.runs import collect
from src.reporting.table import glue_averages, summarise
from src.run.fit import run

from ..conftest import QUICK, compose_config

FIGURE_FILES = (
    "score_vs_params-tiny_bert-rte.png",
    "step_time-tiny_bert-rte.png",
    "factor_shapes-tiny_bert-rte-krona.png",
    "latency_ratio-tiny_bert.png",
)
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
    with pytest.raises(ConfigError):  # refused before training: results.json says so
        run(compose_config([*QUICK, "backbone=tiny_bert", "task=rte", "optim.lr=-1"], root / "4-refused"))
    return root


def test_one_row_per_setting_with_mean_and_std_over_seeds(sweep_dir):
    runs = collect([sweep_dir])
    assert len(runs) == 3  # the failed and the refused run are left out
    table = summarise(runs).set_index("setting")
    two_seeds = table.loc["a_shape=[4, 12] b_shape=[12, 4]"]
    assert two_seeds["seeds"] == 2 and table.loc["a_shape=[6, 8] b_shape=[8, 6]"]["seeds"] == 1
    accuracies = [read_record(sweep_dir / name).scores("test")["accuracy"] for name in list(SWEEP)[:2]]
    assert two_seeds["test/accuracy"] == pytest.approx(statistics.fmean(accuracies))
    assert two_seeds["test/accuracy_std"] == pytest.approx(statistics.stdev(accuracies))
    params = read_record(sweep_dir / "0-shape412-seed1").section("params")
    assert two_seeds["trainable_with_head"] == params["trainable"]
    assert two_seeds["trainable_without_head"] == params["trainable"] - params["head"]
    assert two_seeds["trainable_pct_without_head"] == pytest.approx(params["trainable_pct_of_backbone"])
    assert two_seeds["latency_ratio"] == pytest.approx(
        statistics.fmean(read_record(sweep_dir / n).section("latency")["ratio"] for n in list(SWEEP)[:2])
    )
    speeds = [read_record(sweep_dir / n).section("train_speed") for n in list(SWEEP)[:2]]
    assert two_seeds["step_ms_median"] == pytest.approx(statistics.fmean(s["step_ms"] for s in speeds))
    assert two_seeds["steps_timed"] == min(s["measured_steps"] for s in speeds)
    latencies = [read_record(sweep_dir / n).section("latency") for n in list(SWEEP)[:2]]
    assert two_seeds["latency_ratio_lo"] == min(lat["ratio_min"] for lat in latencies)
    assert two_seeds["latency_protocol"] == "custom"


def test_cli_writes_csv_and_markdown_with_paper_columns(sweep_dir, tmp_path, capsys):
    main([str(sweep_dir), "--paper", "--out", str(tmp_path)])
    csv = pd.read_csv(tmp_path / "report.csv")
    assert {"paper", "diff", "score", "test/accuracy", "latency_ratio", "step_ms_median"} <= set(csv.columns)
    assert {"trainable_with_head", "trainable_without_head", "trainable_pct_without_head"} <= set(csv.columns)
    assert csv["paper"].isna().all()  # tiny_bert is in no paper
    markdown = (tmp_path / "report.md").read_text()
    assert " ± " in markdown and markdown in capsys.readouterr().out
    assert "nan" not in markdown  # no paper number: an empty cell
    assert "trainable (with head)" in markdown and "trainable (without head)" in markdown
    assert "step ms median [quartiles] (timed steps)" in markdown and " steps)" in markdown


def test_a_refused_command_leaves_a_results_json_marked_refused_that_no_report_counts(sweep_dir, tmp_path):
    refused = read_record(sweep_dir / "4-refused")
    assert refused.status == "refused" and "optim.lr=-1.0" in refused.error.message
    assert refused.error.reason == "user_error"
    assert not refused.metrics and not (sweep_dir / "4-refused" / "checkpoints").exists()
    assert read_record(sweep_dir / "0-shape412-seed1").status == "finished"
    only_refused = tmp_path / "only"
    only_refused.mkdir()
    (only_refused / RESULTS_FILE).write_text(json.dumps({"status": "refused", "metrics": {}}))
    with pytest.raises(ValueError, match="no finished runs"):
        collect([only_refused])


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
    monkeypatch.delenv("MPLBACKEND", raising=False)  # the kernel's inline backend: figures saved as outputs
    monkeypatch.setenv("PYTHONPATH", str(ROOT))  # the kernel imports this checkout's src.reporting.figures
    notebook = nbformat.read(ROOT / "notebooks" / "analysis.ipynb", as_version=4)
    NotebookClient(
        notebook, timeout=120, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}
    ).execute()
    for name in FIGURE_FILES:
        assert (figures / name).stat().st_size > 1000, name
    [shapes_cell] = [c for c in notebook.cells if c.source.startswith("shapes =")]
    shapes_output = json.dumps(shapes_cell.outputs)
    assert "image/png" in shapes_output, shapes_output[:3000]  # the figure
    assert "a_shape=[6, 8]" in shapes_output, shapes_output[:3000]  # and the table


def test_figures_cli_writes_the_notebooks_pngs(sweep_dir, tmp_path):
    main([str(sweep_dir), "--figures", "--out", str(tmp_path)])
    assert sorted(p.name for p in (tmp_path / "figures").iterdir()) == sorted(FIGURE_FILES)


def test_figures_are_titled_with_error_bars_and_one_point_per_setting(sweep_dir):
    table = summarise(collect([sweep_dir]), with_paper=True)
    figure = score_vs_params(table)
    ax = figure.axes[0]
    assert ax.get_title() == "RTE on tiny_bert: score vs trainable parameters (1-2 seeds per point)"
    [points] = ax.containers  # one errorbar series: krona
    assert len(points.lines[0].get_xdata()) == 2  # two shapes, two points (not stacked per seed)
    assert points.has_yerr  # ± 1 std over seeds (0 for the one-seed shape)
    half_lengths = sorted(abs(seg[1][1] - seg[0][1]) / 2 for seg in points.lines[2][0].get_segments())
    assert half_lengths == pytest.approx(sorted(table["score_std"].fillna(0)))
    labels = sorted(t.get_text() for t in ax.texts)
    assert labels == ["A 4x12, B 12x4", "A 6x8, B 8x6"]
    latency = latency_ratio(table).axes[0]
    assert "tiny_bert" in latency.get_title() and "custom protocol" in latency.get_title()
    assert [t.get_text() for t in latency.get_yticklabels()] == [
        "krona (A 4x12, B 12x4)",
        "krona (A 6x8, B 8x6)",
    ]


def test_paper_numbers_are_reference_marks():
    rows = pd.DataFrame(
        {
            "backbone": "t5_base",
            "method": "krona",
            "task": "mnli",
            "setting": ["a_shape=[48, 16] b_shape=[16, 48]", "a_shape=[32, 24] b_shape=[24, 32]"],
            "seeds": 3,
            "score": [85.0, 86.0],
            "score_std": [0.2, 0.3],
            "trainable_without_head": [18432, 18432],
        }
    )
    rows["paper"] = [reference("t5_base", "krona", "mnli", {"a_shape": [48, 16]}), 86.31]
    ax = factor_shapes(rows).axes[0]
    [paper] = [c for c in ax.collections if c.get_label() == "paper"]
    assert sorted(paper.get_offsets()[:, 1]) == [86.31, 86.50]
    assert ax.get_title() == "krona factor shapes, MNLI on t5_base (3 seeds)"
    latency = rows.assign(
        latency_ratio=1.02, latency_ratio_lo=0.99, latency_ratio_hi=1.05, latency_protocol="quick"
    )
    [paper_latency] = [c for c in latency_ratio(latency).axes[0].collections if "paper" in c.get_label()]
    assert list(paper_latency.get_offsets()[:, 0]) == [1.0, 1.0]  # KronA merged: the paper's 100


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
