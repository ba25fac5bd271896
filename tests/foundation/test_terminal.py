"""What ``python -m src.train`` prints: one parameter table, no known library noise, no unlabelled
Validate/Test tables, and a final summary block that matches results.json."""

from __future__ import annotations

import logging

import pytest

from src.run.noise import LOG_RECORDS, WARNINGS, _DropFreshHeadReport
from src.run.summary import split_descriptions

from .cli import results_of, train_cli

TINY_RUN = (
    "backbone=tiny_bert",
    "task=rte",
    "trainer.max_epochs=1",
    "data.max_train_samples=16",
    "data.max_eval_samples=8",
    "data.batch_size=4",
    "data.eval_batch_size=8",
    "callbacks.latency.warmup=1",
    "callbacks.latency.iters=2",
    "callbacks.latency.repeats=2",
)


@pytest.fixture(scope="module")
def printed(tmp_path_factory):
    run_dir = tmp_path_factory.mktemp("terminal") / "run"
    done = train_cli(*TINY_RUN, run_dir=run_dir)
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout, done.stderr, results_of(run_dir), run_dir


def test_one_parameter_table_and_no_lightning_model_summary(printed):
    stdout, stderr, _, _ = printed
    assert stdout.count("parameters: BertForSequenceClassification + krona") == 1
    assert "FLOPs" not in stdout + stderr and "Non-trainable params" not in stdout + stderr


def test_known_library_noise_is_filtered(printed):
    stdout, stderr, _, _ = printed
    assert (
        len(WARNINGS) == 2 and len(LOG_RECORDS) == 2
    )  # each filter is checked (bitsandbytes': int8 run below)
    assert "set_vital" not in stdout + stderr  # torchdata
    assert "LeafSpec" not in stdout + stderr  # Lightning's pytree use
    assert "litlogger" not in stdout + stderr  # Lightning's advertisement
    assert "GPU available" in stdout + stderr  # Lightning's other messages still show


def test_an_int8_run_shows_no_bitsandbytes_noise_and_says_why_it_did_not_merge(tmp_path):
    done = train_cli(*TINY_RUN, "backbone.quantize=int8", run_dir=tmp_path / "run")
    assert done.returncode == 0, done.stderr[-3000:]
    output = done.stdout + done.stderr
    assert "MatMul8bitLt" not in output  # logged on every int8 matmul
    assert "gemm_4bit_forward" not in output  # logged when peft imports bitsandbytes (noise.IMPORT_TIME)
    assert "not merged, tested as trained: cannot merge krona" in output


def test_the_run_ends_with_a_summary_block_matching_results_json(printed):
    stdout, _, results, run_dir = printed
    printed_lines = stdout.rstrip().splitlines()
    [start] = [i for i, line in enumerate(printed_lines) if " rte / krona on tiny_bert " in line]
    block = printed_lines[start:]  # the block is the end of the output
    assert block[0].startswith("=") and set(block[-1]) == {"="}
    lines = {line.split("  ", 1)[0]: line for line in block[1:-1]}
    assert f"accuracy {results['metrics']['validation']['accuracy']:.4f}" in lines["validation"]
    assert f"accuracy {results['metrics']['test']['accuracy']:.4f}" in lines["test"]
    assert "test = validation" in lines["test"]  # the GLUE protocol: both stages score the dev set
    assert (
        f"ratio {results['latency']['ratio']:.3f}" in lines["latency"]
        and "custom protocol" in lines["latency"]
    )
    assert f"{results['train_speed']['measured_steps']} step" in lines["train step"]
    assert ": ok" in lines["merge check"]
    assert str(run_dir / "results.json") in lines["results"]
    assert str(run_dir / "checkpoints") in lines["checkpoints"]
    assert "Validate metric" not in stdout and "Test metric" not in stdout  # Lightning's unlabelled tables


def test_the_splits_are_named_by_what_they_score():
    assert "test = validation" in split_descriptions("rte", "glue")["test"]
    compacter = split_descriptions("rte", "compacter")
    assert "first half" in compacter["validation"] and "second half" in compacter["test"]
    assert split_descriptions("sst2", "compacter")["validation"].startswith("1,000 rows held out")
    assert split_descriptions("mnli", "compacter") == {
        "validation": "MNLI dev mismatched",
        "test": "MNLI dev matched",
    }
    assert "dev matched + dev mismatched" in split_descriptions("mnli", "glue")["validation"]
    search = split_descriptions("sst2", "search", 500)
    assert search["validation"] == "500 rows held out of SST2 train" and "dev is never read" in search["test"]


# transformers' load report for all-MiniLM-L6-v2 loaded as a classifier, as printed (status coloured on a terminal)
LOAD_REPORT = (
    "\x1b[1mBertForSequenceClassification LOAD REPORT\x1b[0m from: /work/shared/models/all-MiniLM-L6-v2\n"
    "Key               | Status  | \n------------------+---------+-\n"
    "classifier.weight | \x1b[31mMISSING\x1b[0m | \nclassifier.bias   | \x1b[31mMISSING\x1b[0m | \n\n"
    "Notes:\n- MISSING:\tthose params were newly initialized because missing from the checkpoint."
)


@pytest.mark.parametrize(
    ("message", "shown"),
    [
        (LOAD_REPORT, False),  # only the fresh head: noise
        (
            LOAD_REPORT.replace("classifier.bias  ", "bert.pooler.dense.weight"),
            True,
        ),  # a missing encoder weight
        (LOAD_REPORT + "\nbert.embeddings.position_ids | UNEXPECTED |", True),
        ("some other transformers warning", True),
    ],
)
def test_the_load_report_is_hidden_only_when_it_reports_just_the_new_head(message, shown):
    record = logging.LogRecord(
        "transformers.modeling_utils", logging.WARNING, __file__, 0, message, None, None
    )
    assert _DropFreshHeadReport().filter(record) is shown
