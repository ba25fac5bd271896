"""The GLUE task table and the conf/task YAML files that name its tasks."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
from omegaconf import OmegaConf

from src.data import TASKS, GlueTask, get_task

CONF_TASK = Path(__file__).resolve().parents[2] / "conf" / "task"
METRIC_VOCABULARY = {"matthews", "accuracy", "f1", "pearson", "spearman", "pearson_spearman_mean"}

EXPECTED = {
    # name: (local dir, text fields, label names, metrics)
    "cola": ("CoLA", ("sentence",), ("unacceptable", "acceptable"), ("matthews",)),
    "sst2": ("SST-2", ("sentence",), ("negative", "positive"), ("accuracy",)),
    "mrpc": ("MRPC", ("sentence1", "sentence2"), ("not_equivalent", "equivalent"), ("f1", "accuracy")),
    "qqp": ("QQP", ("question1", "question2"), ("not_duplicate", "duplicate"), ("f1", "accuracy")),
    "stsb": ("STS-B", ("sentence1", "sentence2"), (), ("pearson", "spearman", "pearson_spearman_mean")),
    "mnli": ("MNLI", ("premise", "hypothesis"), ("entailment", "neutral", "contradiction"), ("accuracy",)),
    "qnli": ("QNLI", ("question", "sentence"), ("entailment", "not_entailment"), ("accuracy",)),
    "rte": ("RTE", ("sentence1", "sentence2"), ("entailment", "not_entailment"), ("accuracy",)),
    "wnli": ("WNLI", ("sentence1", "sentence2"), ("not_entailment", "entailment"), ("accuracy",)),
}


def test_table_has_exactly_the_nine_glue_tasks():
    assert list(TASKS) == ["cola", "sst2", "mrpc", "qqp", "stsb", "mnli", "qnli", "rte", "wnli"]


@pytest.mark.parametrize("name", EXPECTED)
def test_task_matches_the_hub_schema(name: str):
    task = get_task(name)
    local_dir, text_fields, label_names, metrics = EXPECTED[name]
    assert isinstance(task, GlueTask)
    assert (task.name, task.hub_config, task.local_dir) == (name, name, local_dir)
    assert task.text_fields == text_fields
    assert task.label_names == label_names
    assert task.metric_names == metrics
    assert set(task.metric_names) <= METRIC_VOCABULARY
    assert task.is_regression is (name == "stsb")
    assert task.num_labels == (1 if name == "stsb" else len(label_names))
    assert task.verbalizers == label_names
    if not task.is_regression:
        assert len(task.tsv.raw_labels) == task.num_labels


def test_only_mnli_has_two_eval_sets_with_their_own_files():
    for task in TASKS.values():
        if task.name != "mnli":
            assert task.eval_splits == {"": "validation"}
            assert task.local_files == {"train": "train.tsv", "validation": "dev.tsv"}
    mnli = get_task("mnli")
    assert mnli.eval_splits == {"matched": "validation_matched", "mismatched": "validation_mismatched"}
    assert mnli.local_files["validation_matched"] == "dev_matched.tsv"
    assert mnli.local_files["validation_mismatched"] == "dev_mismatched.tsv"


def test_cola_is_read_by_column_index_because_it_has_no_header():
    cola = get_task("cola").tsv
    assert not cola.has_header
    assert (cola.label_column, cola.text_columns, cola.num_columns) == (1, (3,), 4)
    assert all(TASKS[name].tsv.has_header for name in TASKS if name != "cola")


def test_unknown_task_error_lists_every_task():
    with pytest.raises(ValueError, match="Unknown GLUE task 'rtee'") as error:
        get_task("rtee")
    for name in TASKS:
        assert name in str(error.value)


def test_tasks_are_frozen_and_hashable():
    task = get_task("rte")
    with pytest.raises(dataclasses.FrozenInstanceError):
        task.name = "other"  # type: ignore[misc]
    assert {task: 1}[get_task("rte")] == 1


@pytest.mark.parametrize("name", EXPECTED)
def test_task_yaml_names_a_table_task(name: str):
    path = CONF_TASK / f"{name}.yaml"
    config = OmegaConf.load(path)
    assert set(config) == {"name", "max_length"}
    assert config.name == name
    assert config.max_length == (256 if name == "rte" else 128)  # RTE 256 as in the AdaKron paper
    assert path.read_text().startswith(f"# {get_task(name).description} (GLUE)\n")


def test_no_yaml_for_unknown_tasks():
    assert sorted(path.stem for path in CONF_TASK.glob("*.yaml")) == sorted(TASKS)
