"""The quality benchmark's plan and tables, without training: what the default plan runs, that its parity
rows are the same maths at the same size, the majority baseline on the real dev sets, and the aggregation."""

from __future__ import annotations

import numpy as np
import pytest

from bench import claims, quality
from bench.common import build_random_model, compose
from bench.quality_plans import PLANS, ROWS
from src.adapters import count_parameters
from tests.conftest import GLUE_DIR, MINILM_DIR


def test_the_cpu_plan_runs_5_seeds_for_claims_3_for_the_rest_and_only_the_claims_rows_on_stsb():
    specs = quality.run_specs("cpu", PLANS["cpu"], cuda=False, extra=[])
    per_row = {}
    for spec in specs:
        per_row.setdefault((spec.task, spec.row), []).append(spec.seed)
    named = {name for claim in claims.CLAIMS for name in (claim.better, claim.worse)}
    for (task, row), seeds in per_row.items():
        assert len(seeds) == (5 if row in named else 3), (task, row)
    assert {row for task, row in per_row if task == "sst2"} == set(ROWS)
    assert {
        row for task, row in per_row if task == "stsb"
    } == named  # the sentence-pair task: the claims' rows
    assert len(specs) == (7 * 5 + 7 * 3) + 7 * 5


@pytest.mark.parametrize("row", sorted(ROWS))
def test_every_row_composes_on_the_dev_protocol_with_the_plan_budget(row: str):
    spec = next(s for s in quality.run_specs("cpu", PLANS["cpu"], cuda=False, extra=[]) if s.row == row)
    cfg = compose(*spec.overrides)
    assert cfg.adapter.name == ROWS[row].adapter and cfg.data.split_protocol == "glue" and cfg.test is False
    assert (cfg.data.max_train_samples, cfg.data.max_length, cfg.trainer.max_epochs) == (4000, 64, 1)


@pytest.mark.parametrize(("ours", "theirs"), claims.PARITY)
def test_parity_rows_train_parameters_of_the_same_shapes_on_minilm(ours: str, theirs: str):
    shapes, counts = [], []
    for row in (ours, theirs):
        spec = next(s for s in quality.run_specs("cpu", PLANS["cpu"], cuda=False, extra=[]) if s.row == row)
        adapter_overrides = [o for o in spec.overrides if o.startswith("adapter.")]
        backbone = build_random_model("minilm", ROWS[row].adapter, "sst2", *adapter_overrides)
        counts.append(count_parameters(backbone.model, backbone.placement())["trainable"])
        shapes.append([tuple(p.shape) for n, p in backbone.model.named_parameters() if p.requires_grad])
    assert shapes[0] == shapes[1] and counts[0] == counts[1]


def test_majority_baseline_on_the_real_dev_sets():
    assert quality.majority_baseline("sst2", str(GLUE_DIR)) == pytest.approx(100 * 444 / 872)
    assert quality.majority_baseline("mrpc", str(GLUE_DIR)) == pytest.approx(
        81.2, abs=0.05
    )  # F1, all positive
    assert quality.majority_baseline("stsb", str(GLUE_DIR)) is None


def fake_run(row: str, seed: int, score: float | None) -> dict:
    return {"backbone": "minilm", "task": "sst2", "row": row, "seed": seed, "score": score, "metric": "accuracy",
            "trainable": 100, "step_ms": 10.0, "minutes": 1.0, "overrides": ("optim.lr=0.005",), "lr_source": "searched"}  # fmt: skip


def test_aggregate_reports_median_and_iqr_and_the_claims_pair_seeds():
    lora = [80.0, 82.0, 81.0, 79.0, 90.0]
    krona = [s + 1.0 for s in lora]
    results = [fake_run("lora", i + 1, s) for i, s in enumerate(lora)]
    results += [fake_run("krona", i + 1, s) for i, s in enumerate(krona)] + [fake_run("krona", 6, None)]
    rows = {r["method"]: r for r in quality.aggregate(results, {"sst2": 50.9})}
    q25, median, q75 = np.percentile(lora, [25, 50, 75])
    assert rows["lora"]["median"] == median == 81.0 and rows["lora"]["iqr"] == q75 - q25
    assert rows["lora"]["above_majority"] == pytest.approx(81.0 - 50.9)
    assert (rows["krona"]["seeds"], rows["krona"]["failed"]) == (5, 1)
    [claim] = quality.claim_rows(list(rows.values()))
    assert claim["comparison"].startswith("KronA above LoRA") and claim["verdict"] == claims.SAME
    assert claim["paired_seeds"] == 5 and claim["mean_difference"] == pytest.approx(1.0)


def test_the_full_plan_composes_for_a_cuda_machine():
    specs = quality.run_specs("full", PLANS["full"], cuda=True, extra=[])
    assert {s.backbone for s in specs} == {"bert_base", "t5_base"}
    # every row on T5 (the encoder rows compose on MiniLM above; composing is slow on a busy machine)
    first = {(s.backbone, s.row): s for s in reversed(specs) if s.task == "rte" and s.backbone == "t5_base"}
    assert len(first) == len(ROWS)
    for (backbone, row), spec in first.items():
        cfg = compose(*spec.overrides)
        assert (cfg.backbone.name, cfg.adapter.name) == (backbone, ROWS[row].adapter)
        assert cfg.trainer.accelerator == "gpu" and cfg.trainer.precision == "32-true"
        assert cfg.trainer.max_epochs == 3 and cfg.test is True and cfg.data.max_train_samples is None


def test_a_finished_run_is_reused_from_another_checkout_but_not_with_other_settings(tmp_path):
    import dataclasses
    import json

    from omegaconf import OmegaConf

    spec = next(s for s in quality.run_specs("cpu", PLANS["cpu"], cuda=False, extra=[]) if s.row == "lora")
    out = tmp_path / "run"
    moved = [f"paths.output_dir={out}" if o.startswith("paths.output_dir=") else o for o in spec.overrides]
    spec = dataclasses.replace(spec, overrides=tuple(moved))
    config = OmegaConf.to_container(compose(*spec.overrides), resolve=True)
    config["data"]["glue_dir"] = "/elsewhere/shared/glue"  # the same rows, read by a clone at another path
    out.mkdir()
    (out / "results.json").write_text(json.dumps({"status": "finished", "config": config, "metrics": {}}))
    assert quality.finished_run(spec) is not None

    config["optim"]["lr"] *= 2
    (out / "results.json").write_text(json.dumps({"status": "finished", "config": config, "metrics": {}}))
    assert quality.finished_run(spec) is None


@pytest.mark.skipif(not MINILM_DIR.is_dir(), reason="needs the real MiniLM in ../shared")
def test_the_sts_reference_is_the_frozen_encoders_cosine_similarity(monkeypatch):
    """STS-B has no majority class; the reference a trained method is read against is what the pretrained
    sentence encoder scores with nothing trained. Pairing each sentence with the next pair's breaks it."""
    from bench import sts_reference

    score = sts_reference.frozen_cosine_pearson("stsb", str(MINILM_DIR), str(GLUE_DIR), 64, dev_rows=200)
    assert 70 < score <= 100
    assert sts_reference.frozen_cosine_pearson("sst2", str(MINILM_DIR), str(GLUE_DIR), 64) is None

    reads = sts_reference.split_reader

    def mispaired(*args, **kwargs):
        read = reads(*args, **kwargs)

        def shifted(split):
            rows = read(split)
            return rows.add_column("moved", rows["sentence2"][1:] + rows["sentence2"][:1]).remove_columns(
                "sentence2").rename_column("moved", "sentence2")  # fmt: skip

        return shifted

    monkeypatch.setattr(sts_reference, "split_reader", mispaired)
    assert (
        abs(sts_reference.frozen_cosine_pearson("stsb", str(MINILM_DIR), str(GLUE_DIR), 64, dev_rows=200))
        < 30
    )


def test_a_claim_pairs_only_the_seeds_where_both_runs_learned():
    lora = [80.0, 52.0, 81.0, 79.0, 51.0]  # seeds 2 and 5 stayed within 10 points of the majority class
    results = [fake_run("lora", i + 1, s) for i, s in enumerate(lora)]
    results += [fake_run("krona", i + 1, 85.0 + i) for i in range(5)]
    [claim] = quality.claim_rows(quality.aggregate(results, {"sst2": 50.9}))
    assert claim["paired_seeds"] == 3 and claim["did_not_learn"] == {"krona": [], "lora": [2, 5]}
    assert claim["mean_difference"] == pytest.approx(((85 - 80) + (87 - 81) + (88 - 79)) / 3)


def test_the_zero_shot_reference_is_not_asked_of_a_random_init_backbone():
    """tiny_bert names bert-base-uncased as its pretrained source but builds random weights: no reference
    (asking would download, or fail offline, a model the runs never used)."""
    plan = PLANS["smoke"].__class__(**{**PLANS["smoke"].__dict__, "tasks": ("stsb",), "rows": ("lora",)})
    specs = quality.run_specs("smoke", plan, cuda=False, extra=[f"data.glue_dir={GLUE_DIR}"])
    assert specs and quality.zero_shot_references(specs) == {}


def test_a_plan_selection_that_runs_nothing_is_refused_in_one_line():
    with pytest.raises(SystemExit, match="nothing to run: .* only the rows a claim names"):
        quality.main(["--tasks", "stsb", "--rows", "krona_b"])
