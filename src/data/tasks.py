"""The nine GLUE tasks: one table, read by the readers, the split protocols and the DataModule."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

from src.errors import DataError

# How the Compacter code (used by KronA) carves validation and test sets out of a task; see splits.py.
CompacterRule = Literal["halve_dev", "hold_out_train", "mismatched_dev"]


@dataclass(frozen=True)
class TsvLayout:
    """Where a task's columns are in the classic glue_data TSV files.

    Columns are header names, or 0-based indices when the file has no header row (CoLA).
    `raw_labels` are the label values as written in the file, in class-index order;
    empty for regression, whose label column holds a number.
    """

    text_columns: tuple[str, ...] | tuple[int, ...]
    label_column: str | int
    raw_labels: tuple[str, ...] = ()
    num_columns: int | None = None  # only needed when there is no header to count

    @property
    def has_header(self) -> bool:
        return isinstance(self.label_column, str)


@dataclass(frozen=True)
class GlueTask:
    name: str
    description: str
    hub_config: str
    local_dir: str
    text_fields: tuple[str, ...]
    label_names: tuple[str, ...]  # the hub's ClassLabel order; empty for regression
    metric_names: tuple[str, ...]  # primary first
    tsv: TsvLayout
    compacter_rule: CompacterRule
    # eval-set name ("" when there is one) -> hub split name
    eval_splits: Mapping[str, str] = field(default_factory=lambda: {"": "validation"}, hash=False)
    # hub split name -> TSV file in <glue_dir>/<local_dir>/
    local_files: Mapping[str, str] = field(
        default_factory=lambda: {"train": "train.tsv", "validation": "dev.tsv"}, hash=False
    )
    score_range: tuple[float, float] | None = None  # regression: the lowest and highest valid label

    @property
    def is_regression(self) -> bool:
        return not self.label_names

    @property
    def num_labels(self) -> int:
        return 1 if self.is_regression else len(self.label_names)

    @property
    def non_label(self) -> int:
        """The class index of a prediction that is no label (a T5 output that is no label word): always wrong."""
        return self.num_labels

    @property
    def verbalizers(self) -> tuple[str, ...]:
        """T5 target words, one per class (regression targets are formatted numbers instead)."""
        return self.label_names


_BINARY_NUMBERED = ("0", "1")
_ENTAILMENT = ("entailment", "not_entailment")

TASKS: dict[str, GlueTask] = {
    task.name: task
    for task in (
        GlueTask(
            name="cola",
            description="Corpus of Linguistic Acceptability",
            hub_config="cola",
            local_dir="CoLA",
            text_fields=("sentence",),
            label_names=("unacceptable", "acceptable"),
            metric_names=("matthews",),
            tsv=TsvLayout(text_columns=(3,), label_column=1, raw_labels=_BINARY_NUMBERED, num_columns=4),
            compacter_rule="halve_dev",
        ),
        GlueTask(
            name="sst2",
            description="Stanford Sentiment Treebank",
            hub_config="sst2",
            local_dir="SST-2",
            text_fields=("sentence",),
            label_names=("negative", "positive"),
            metric_names=("accuracy",),
            tsv=TsvLayout(text_columns=("sentence",), label_column="label", raw_labels=_BINARY_NUMBERED),
            compacter_rule="hold_out_train",
        ),
        GlueTask(
            name="mrpc",
            description="Microsoft Research Paraphrase Corpus",
            hub_config="mrpc",
            local_dir="MRPC",
            text_fields=("sentence1", "sentence2"),
            label_names=("not_equivalent", "equivalent"),
            metric_names=("f1", "accuracy"),
            tsv=TsvLayout(
                text_columns=("#1 String", "#2 String"), label_column="Quality", raw_labels=_BINARY_NUMBERED
            ),
            compacter_rule="halve_dev",
        ),
        GlueTask(
            name="qqp",
            description="Quora Question Pairs",
            hub_config="qqp",
            local_dir="QQP",
            text_fields=("question1", "question2"),
            label_names=("not_duplicate", "duplicate"),
            metric_names=("f1", "accuracy"),
            tsv=TsvLayout(
                text_columns=("question1", "question2"),
                label_column="is_duplicate",
                raw_labels=_BINARY_NUMBERED,
            ),
            compacter_rule="hold_out_train",
        ),
        GlueTask(
            name="stsb",
            description="Semantic Textual Similarity Benchmark",
            hub_config="stsb",
            local_dir="STS-B",
            text_fields=("sentence1", "sentence2"),
            label_names=(),
            metric_names=("pearson", "spearman", "pearson_spearman_mean"),
            tsv=TsvLayout(text_columns=("sentence1", "sentence2"), label_column="score"),
            compacter_rule="halve_dev",
            score_range=(0.0, 5.0),
        ),
        GlueTask(
            name="mnli",
            description="Multi-Genre Natural Language Inference",
            hub_config="mnli",
            local_dir="MNLI",
            text_fields=("premise", "hypothesis"),
            label_names=("entailment", "neutral", "contradiction"),
            metric_names=("accuracy",),
            tsv=TsvLayout(
                text_columns=("sentence1", "sentence2"),
                label_column="gold_label",
                raw_labels=("entailment", "neutral", "contradiction"),
            ),
            compacter_rule="mismatched_dev",
            eval_splits={"matched": "validation_matched", "mismatched": "validation_mismatched"},
            local_files={
                "train": "train.tsv",
                "validation_matched": "dev_matched.tsv",
                "validation_mismatched": "dev_mismatched.tsv",
            },
        ),
        GlueTask(
            name="qnli",
            description="Question Natural Language Inference",
            hub_config="qnli",
            local_dir="QNLI",
            text_fields=("question", "sentence"),
            label_names=_ENTAILMENT,
            metric_names=("accuracy",),
            tsv=TsvLayout(
                text_columns=("question", "sentence"), label_column="label", raw_labels=_ENTAILMENT
            ),
            compacter_rule="hold_out_train",
        ),
        GlueTask(
            name="rte",
            description="Recognising Textual Entailment",
            hub_config="rte",
            local_dir="RTE",
            text_fields=("sentence1", "sentence2"),
            label_names=_ENTAILMENT,
            metric_names=("accuracy",),
            tsv=TsvLayout(
                text_columns=("sentence1", "sentence2"), label_column="label", raw_labels=_ENTAILMENT
            ),
            compacter_rule="halve_dev",
        ),
        GlueTask(
            name="wnli",
            description="Winograd Natural Language Inference",
            hub_config="wnli",
            local_dir="WNLI",
            text_fields=("sentence1", "sentence2"),
            label_names=("not_entailment", "entailment"),
            metric_names=("accuracy",),
            tsv=TsvLayout(
                text_columns=("sentence1", "sentence2"), label_column="label", raw_labels=_BINARY_NUMBERED
            ),
            compacter_rule="halve_dev",
        ),
    )
}


def get_task(name: str) -> GlueTask:
    try:
        return TASKS[name]
    except KeyError:
        raise DataError(f"Unknown GLUE task {name!r}; choose one of: {', '.join(TASKS)}") from None
