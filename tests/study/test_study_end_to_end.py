"""``python -m src.study study=smoke`` end to end through joblib (Hydra's default local launcher here): the
searches in a SQLite storage, the seed runs at the chosen values, the report; run again, it trains nothing."""

from __future__ import annotations

import json

import pytest

from src.record import read_record
from src.reporting.runs import collect
from src.reporting.table import summarise

from .helpers import launched_jobs, report_of, study_cli, trials_of

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("smoke_study")]


def test_the_smoke_study_searches_runs_every_seed_and_reports(smoke_study):
    report = report_of(smoke_study)
    rows = {r["method"]: r for r in report["rows"]}
    assert {m: r["seeds"] for m, r in rows.items()} == {"lora": 3, "krona": 3, "peft_lora": 2}
    assert (
        rows["peft_lora"]["lr"] == rows["lora"]["lr"] and rows["peft_lora"]["lr_source"] == "searched (lora)"
    )
    trials = trials_of(smoke_study)
    assert sorted(name.split("@")[0] for name in trials) == ["tiny_bert-sst2-krona", "tiny_bert-sst2-lora"]
    for name, found in trials.items():
        assert [t.state.name for t in found] == ["COMPLETE", "COMPLETE"], name
        for trial in found:  # each trial's score is its run's held-out validation score
            (run_dir,) = trial.user_attrs["run_dirs"]
            record = read_record(smoke_study / run_dir)
            assert record.config["data"]["split_protocol"] == "search"
            assert trial.value == pytest.approx(record.scores("validation")["accuracy"])
        best = max(found, key=lambda t: t.value)
        chosen = next(s for s in report["searches"] if s["storage"] == name)
        assert chosen["params"] == best.params
        assert rows[chosen["method"]]["lr"] == f"optim.lr={best.params['optim.lr']}"
    for run in report["runs"]:  # every seed run trained on train and scored on dev at its row's value
        config = read_record(run["overrides"][-1].split("=", 1)[1]).config
        assert config["data"]["split_protocol"] == "glue" and config["seed"] == run["seed"]
    text = (smoke_study / "report.md").read_text()
    assert "| LoRA r=4 (q, v) " in text and "| KronA " in text and "avg" in text
    assert [c["comparison"] for c in report["claims"]] == ["KronA above LoRA at equal parameters"]
    figures = sorted(p.name for p in (smoke_study / "report_figures").glob("*.png"))
    assert figures == ["score_vs_params-tiny_bert-sst2.png", "step_time-tiny_bert-sst2.png"]
    assert "](report_figures/score_vs_params-tiny_bert-sst2.png)" in text
    assert len(launched_jobs(smoke_study)) == 4 + 8  # 2 x 2 trials, 3 + 3 + 2 seed runs: each once


def test_the_same_command_again_trains_nothing_and_writes_the_same_report(smoke_study, tmp_path):
    before = report_of(smoke_study)
    stamps = {p: p.stat().st_mtime for p in smoke_study.rglob("results.json")}
    launches = len(launched_jobs(smoke_study))
    done = study_cli(smoke_study, "study=smoke")
    assert done.returncode == 0, done.stderr[-3000:]
    after = report_of(smoke_study)
    assert {p: p.stat().st_mtime for p in smoke_study.rglob("results.json")} == stamps
    assert len(launched_jobs(smoke_study)) == launches
    assert "8 runs, 0 launched" in after["notes"][3]
    assert json.dumps(after["rows"], sort_keys=True) == json.dumps(before["rows"], sort_keys=True)


def test_src_report_over_the_study_runs_gives_the_study_reports_numbers(smoke_study):
    table = summarise(collect([smoke_study / "runs"]))
    report = {r["method"]: r for r in report_of(smoke_study)["rows"]}
    by_method = {("peft" if r.method == "peft" else r.method): r for r in table.itertuples()}
    assert by_method["krona"].score_median == pytest.approx(report["krona"]["median"])
    assert by_method["krona"].score_iqr == pytest.approx(report["krona"]["iqr"])
    assert by_method["lora"].score_median == pytest.approx(report["lora"]["median"])
    assert by_method["peft"].score_median == pytest.approx(report["peft_lora"]["median"])
