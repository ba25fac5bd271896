"""What bench.search_results keeps: one entry per plan row (two rows may share an adapter: krona and
krona_terms2), and one trial table that grows as a plan is searched a few rows at a time."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import bench.common
import bench.search_results as search_results
from bench import quality


def fake_sweep(root: Path, row: str, adapter: str, lrs: list[float], scores: list[float]) -> Path:
    """A sweep directory as ``python -m src.train -m hparams_search=...`` leaves it (the files read here)."""
    sweep = root / f"minilm-sst2-{row}"
    best = max(range(len(lrs)), key=lambda i: scores[i])
    sweep.mkdir(parents=True)
    (sweep / "optimization_results.yaml").write_text(
        f"name: optuna\nbest_params:\n  optim.lr: {lrs[best]}\nbest_value: {scores[best]}\n"
    )
    for trial, (lr, score) in enumerate(zip(lrs, scores, strict=True)):
        job = sweep / f"{trial}-sst2-{adapter}"
        job.mkdir()
        config = {"backbone": {"name": "minilm"}, "task": {"name": "sst2"}, "adapter": {"name": adapter},
                  "optim": {"lr": lr}}  # fmt: skip
        results = {"status": "finished", "config": config, "metrics": {"validation": {"accuracy": score}},
                   "wall_time_s": 60.0}  # fmt: skip
        (job / "results.json").write_text(json.dumps(results))
    return sweep


@pytest.fixture
def files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setattr(search_results, "LR_FILE", tmp_path / "quality_lr.yaml")
    monkeypatch.setattr(bench.common, "RESULTS_DIR", tmp_path / "results")
    return tmp_path


def test_two_rows_of_one_adapter_keep_their_own_learning_rate(files: Path):
    krona = search_results.read_sweep(fake_sweep(files, "krona", "krona", [1e-3, 1e-2], [0.6, 0.85]))
    terms2 = search_results.read_sweep(fake_sweep(files, "krona_terms2", "krona", [2e-3, 3e-2], [0.8, 0.7]))
    search_results.record("cpu", [krona, terms2])
    assert quality.learning_rate("cpu", "minilm", "sst2", "krona") == (["optim.lr=0.01"], "searched")
    assert quality.learning_rate("cpu", "minilm", "sst2", "krona_terms2") == (["optim.lr=0.002"], "searched")


def test_the_trial_table_keeps_earlier_searches_and_replaces_a_redone_one(files: Path):
    first = search_results.read_sweep(fake_sweep(files / "a", "krona", "krona", [1e-3, 1e-2], [0.6, 0.85]))
    search_results.write_search_table("cpu", [first])
    lora = search_results.read_sweep(
        fake_sweep(files / "b", "lora", "lora", [1e-4, 5e-3, 2e-2], [0.5, 0.8, 0.7])
    )
    search_results.write_search_table("cpu", [lora])
    table = (files / "results" / "search_cpu.md").read_text()
    assert table.count("| minilm | sst2 | krona |") == 2 and table.count("| minilm | sst2 | lora |") == 3

    redone = search_results.read_sweep(fake_sweep(files / "c", "krona", "krona", [4e-3], [0.84]))
    search_results.write_search_table("cpu", [redone])
    payload = json.loads((files / "results" / "search_cpu.json").read_text())
    assert [(s["method"], s["trials"]) for s in payload["sweeps"]] == [("krona", 1), ("lora", 3)]
    assert sorted(r["optim.lr"] for r in payload["rows"] if r["method"] == "krona") == [4e-3]


def test_the_search_covers_each_tasks_rows_of_the_plan(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """SST-2 searches every row of the cpu plan; STS-B only the rows a claim names; parity rows never."""
    import bench.search

    searched = []
    monkeypatch.setattr(
        bench.search, "run_search", lambda command, sweep_dir, *_: searched.append(sweep_dir.name)
    )
    monkeypatch.setattr(search_results, "read_sweep", lambda *_: None)
    monkeypatch.setattr(search_results, "record", lambda *_: "lr file")
    monkeypatch.setattr(search_results, "write_search_table", lambda *_: "table")
    bench.search.main(["--plan", "cpu", "--out", str(tmp_path)])
    rows = {
        task: [name.split("-", 2)[2] for name in searched if name.split("-")[1] == task]
        for task in ("sst2", "stsb")
    }
    assert rows["stsb"] == ["full", "bitfit", "lora", "krona", "krona_res", "adakron", "pfeiffer"]
    assert rows["sst2"] == [
        *rows["stsb"][:4],
        "krona_b",
        "krona_res",
        "adakron",
        "pa",
        "pfeiffer",
        "krona_terms2",
        "lokr",
    ]
