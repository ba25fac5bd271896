"""Every callback's section lands in results.json and in the CSV logger's files; each can be switched off."""

from __future__ import annotations

import csv

import yaml

SECTIONS = ("param_table", "merge", "latency", "train_speed")


def _csv_columns(run_dir) -> set[str]:
    with open(run_dir / "csv" / "metrics.csv") as handle:
        return set(next(csv.reader(handle)))


def test_a_training_run_writes_every_section_and_logs_it(quick_run):
    results, run_dir = quick_run("backbone=tiny_bert", "adapter=krona", "~trainer.logger")
    for section in SECTIONS:
        assert section in results, section
    assert results["latency"]["ms"] > 0 and results["latency"]["settings"]["warmup"] == 3
    assert results["train_speed"]["step_ms"] > 0 and results["train_speed"]["samples_per_s"] > 0
    assert results["train_speed"]["samples_per_step"] == 4  # data.batch_size in QUICK
    # one measurement is one number: hyperparameters (hparams.yaml), not a metrics.csv column
    hparams = yaml.safe_load((run_dir / "csv" / "hparams.yaml").read_text())
    assert hparams["params/trainable"] == results["param_table"]["trainable"]
    assert hparams["latency/ratio"] == results["latency"]["ratio"]
    assert hparams["merge/max_abs_diff"] == results["merge"]["max_abs_diff"]
    assert hparams["train_speed/step_ms"] == results["train_speed"]["step_ms"]
    assert not {"latency/ratio", "merge/max_abs_diff", "train_speed/step_ms"} & _csv_columns(run_dir)


def test_switched_off_callbacks_write_nothing(quick_run):
    off = [f"callbacks.{name}.enabled=false" for name in ("param_count", "merge", "latency", "train_speed")]
    results, _ = quick_run("backbone=tiny_bert", "adapter=krona", *off)
    assert not set(SECTIONS) & set(results)
    assert results["metrics"]["test"]  # the run itself still tested


def test_t5_latency_without_a_trainer(quick_run):
    results, run_dir = quick_run(
        "backbone=tiny_t5",
        "adapter=krona",
        "train=false",
        "test=false",
        "callbacks.latency.enabled=true",
        "callbacks.param_count.print_table=false",
        "~trainer.logger",  # trainer=debug says logger: false, which the standalone measurements respect too
    )
    assert results["latency"]["ms"] > 0 and results["latency"]["merged"]
    assert results["param_table"]["adapter"] == results["params"]["adapter"]
    assert "metrics" in results and not results["metrics"]
    assert (
        yaml.safe_load((run_dir / "csv" / "hparams.yaml").read_text())["latency/ratio"]
        == results["latency"]["ratio"]
    )
