"""The LightningDataModule: read a GLUE task, apply a split protocol, tokenise once, batch."""

from __future__ import annotations

import functools
import os

import datasets
import lightning as L
from torch.utils.data import DataLoader
from transformers import DataCollatorForSeq2Seq, DataCollatorWithPadding, PreTrainedTokenizerBase

from .encoding import TextToTextCollator, encode_for_encoder, encode_text_to_text
from .readers import split_reader
from .splits import SEARCH_VALIDATION_ROWS, Splits, eval_set_names, make_splits
from .tasks import GlueTask

EVAL_STAGES = ("validation", "test")


def read_splits(
    task: GlueTask,
    source: str = "auto",
    glue_dir: str | os.PathLike | None = None,
    split_protocol: str = "glue",
    split_seed: int = 42,
    search_validation_rows: int = SEARCH_VALIDATION_ROWS,
    **_: object,
) -> Splits:
    """The task's train/validation/test sets under the split protocol, read and checked, not tokenised.

    Takes the ``data`` settings as keywords (those that do not concern reading are ignored).
    """
    reader = split_reader(task, source, glue_dir)
    return make_splits(task, split_protocol, reader, split_seed, search_validation_rows)


class GlueDataModule(L.LightningDataModule):
    """One GLUE task for an encoder classifier (`text_to_text=False`) or for T5 (`text_to_text=True`).

    Encoder batches: input_ids, attention_mask, [token_type_ids], labels (long; float for STS-B).
    T5 batches: input_ids, attention_mask, labels (target token ids, padded with -100),
    label (class index, or float score for STS-B).
    """

    def __init__(
        self,
        task: GlueTask,
        tokenizer: PreTrainedTokenizerBase,
        text_to_text: bool = False,
        glue_dir: str | os.PathLike | None = None,
        source: str = "auto",
        split_protocol: str = "glue",
        split_seed: int = 42,
        search_validation_rows: int = SEARCH_VALIDATION_ROWS,
        max_length: int = 128,
        target_max_length: int = 8,
        batch_size: int = 32,
        eval_batch_size: int = 64,
        num_workers: int = 0,
        max_train_samples: int | None = None,
        max_eval_samples: int | None = None,
        splits: Splits | None = None,
    ) -> None:
        """``splits``: the task's splits already read (``read_splits``), e.g. to check the files before a model is built."""
        super().__init__()
        # the logged config is the composed Hydra one; the splits are data, not settings
        self.save_hyperparameters(ignore=["task", "tokenizer", "splits"], logger=False)
        self.task = task
        self.tokenizer = tokenizer
        self.read = split_reader(self.task, source, glue_dir)
        self.splits = splits
        self.data: Splits | None = None

    @property
    def num_labels(self) -> int:
        return self.task.num_labels

    @property
    def is_regression(self) -> bool:
        return self.task.is_regression

    @property
    def metric_names(self) -> tuple[str, ...]:
        return self.task.metric_names

    @property
    def verbalizers(self) -> list[str]:
        return list(self.task.verbalizers)

    def eval_split_names(self, stage: str) -> list[str]:
        """Eval-set names of "validation" or "test", in dataloader order: [""] or ["matched", "mismatched"]."""
        if stage not in EVAL_STAGES:
            raise ValueError(f"stage must be one of {EVAL_STAGES}, got {stage!r}")
        return eval_set_names(self.task, self.hparams.split_protocol)

    def setup(self, stage: str | None = None) -> None:
        if self.data is not None:
            return
        splits = self.splits or make_splits(
            self.task,
            self.hparams.split_protocol,
            self.read,
            self.hparams.split_seed,
            self.hparams.search_validation_rows,
        )
        self.splits = None  # the tokenised copies below are what is kept
        # Under the glue protocol validation and test are the same datasets: prepare each one once.
        prepare = functools.cache(self._prepare)
        self.data = {
            "train": prepare(splits["train"], self.hparams.max_train_samples),
            **{
                stage: {
                    name: prepare(dataset, self.hparams.max_eval_samples)
                    for name, dataset in splits[stage].items()
                }
                for stage in EVAL_STAGES
            },
        }

    def _prepare(self, dataset: datasets.Dataset, max_samples: int | None) -> datasets.Dataset:
        dataset = first_rows(dataset, max_samples)
        if self.hparams.text_to_text:
            encode = functools.partial(
                encode_text_to_text,
                task=self.task,
                tokenizer=self.tokenizer,
                max_length=self.hparams.max_length,
                target_max_length=self.hparams.target_max_length,
            )
        else:
            encode = functools.partial(
                encode_for_encoder,
                task=self.task,
                tokenizer=self.tokenizer,
                max_length=self.hparams.max_length,
            )
        return dataset.map(
            encode,
            batched=True,
            remove_columns=list(self.task.text_fields),
            desc=f"Tokenising {self.task.name}",
        )

    def collator(self) -> DataCollatorWithPadding | TextToTextCollator:
        if self.hparams.text_to_text:
            return TextToTextCollator(DataCollatorForSeq2Seq(self.tokenizer, label_pad_token_id=-100))
        return DataCollatorWithPadding(self.tokenizer)

    def _loader(self, dataset: datasets.Dataset, batch_size: int, shuffle: bool) -> DataLoader:
        return DataLoader(
            dataset,
            batch_size=batch_size,
            shuffle=shuffle,
            sampler=None if shuffle else longest_first(dataset),
            num_workers=self.hparams.num_workers,
            collate_fn=self.collator(),
        )

    def _prepared(self) -> Splits:
        if self.data is None:
            raise RuntimeError("GlueDataModule.setup() must run before its dataloaders are requested.")
        return self.data

    def test_is_validation(self) -> bool:
        """Whether the test stage scores the very rows validation does (the glue and search protocols)."""
        data = self._prepared()
        return all(data["test"].get(name) is data["validation"].get(name) for name in data["validation"])

    def train_dataloader(self) -> DataLoader:
        return self._loader(self._prepared()["train"], self.hparams.batch_size, shuffle=True)

    def _eval_loaders(self, stage: str) -> DataLoader | list[DataLoader]:
        eval_sets = self._prepared()[stage]
        loaders = [
            self._loader(eval_sets[name], self.hparams.eval_batch_size, shuffle=False)
            for name in self.eval_split_names(stage)
        ]
        return loaders[0] if len(loaders) == 1 else loaders

    def val_dataloader(self) -> DataLoader | list[DataLoader]:
        return self._eval_loaders("validation")

    def test_dataloader(self) -> DataLoader | list[DataLoader]:
        return self._eval_loaders("test")


def first_rows(dataset: datasets.Dataset, max_samples: int | None) -> datasets.Dataset:
    """The rows a run uses of a split: the first ``max_samples`` (``data.max_train_samples`` / ``max_eval_samples``)."""
    return dataset if max_samples is None else dataset.select(range(min(max_samples, len(dataset))))


def longest_first(dataset: datasets.Dataset) -> list[int]:
    """An eval set's rows longest first, so that each batch pads to rows of nearly its own length (SST-2 dev at
    batch 64: 23.6k tokens with padding instead of 44.4k in file order); every score sums over all rows, so
    none depends on the order."""
    lengths = [len(ids) for ids in dataset["input_ids"]]
    return sorted(range(len(lengths)), key=lambda i: -lengths[i])
