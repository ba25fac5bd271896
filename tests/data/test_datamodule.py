"""GlueDataModule: tokenise once, batch for encoders and for T5, one or several eval loaders."""

from __future__ import annotations

from pathlib import Path

import datasets
import lightning as L
import pytest
import torch
from torch.utils.data import DataLoader

from src.data import DataError, GlueDataModule, format_input, format_target, get_task


def _module(tokenizer, task: str, glue_dir: Path, **kwargs) -> GlueDataModule:
    kwargs = {"max_train_samples": 16, "max_eval_samples": 8, "batch_size": 4, "eval_batch_size": 4, **kwargs}
    datamodule = GlueDataModule(get_task(task), tokenizer, glue_dir=str(glue_dir), source="local", **kwargs)
    datamodule.setup("fit")
    return datamodule


def first_rows(datamodule: GlueDataModule) -> dict[str, torch.Tensor]:
    """The first eval batch in file order, collated as the eval loader collates (which serves longest first)."""
    rows = datamodule.data["validation"][""]
    return next(iter(DataLoader(rows, batch_size=4, collate_fn=datamodule.collator())))


def test_eval_loader_serves_every_row_once_longest_first(bert_tokenizer, glue_dir: Path):
    datamodule = _module(bert_tokenizer, "rte", glue_dir, max_eval_samples=40, eval_batch_size=8)
    rows = datamodule.data["validation"][""]
    batches = list(datamodule.val_dataloader())
    lengths = [int(n) for batch in batches for n in batch["attention_mask"].sum(dim=1)]
    assert lengths == sorted((len(ids) for ids in rows["input_ids"]), reverse=True)
    served = sorted(tuple(ids[ids != 0].tolist()) for batch in batches for ids in batch["input_ids"])
    assert served == sorted(tuple(ids) for ids in rows["input_ids"])
    widths = [batch["input_ids"].shape[1] for batch in batches]
    assert widths == sorted(widths, reverse=True) and widths[-1] < widths[0]  # later batches pad less


def test_encoder_batch_for_a_sentence_pair_task(bert_tokenizer, glue_dir: Path):
    datamodule = _module(bert_tokenizer, "rte", glue_dir, max_length=64)
    batch = first_rows(datamodule)
    assert set(batch) == {"input_ids", "token_type_ids", "attention_mask", "labels"}
    assert all(tensor.dtype == torch.long for tensor in batch.values())
    assert batch["input_ids"].shape[0] == 4
    assert batch["input_ids"].shape == batch["attention_mask"].shape == batch["token_type_ids"].shape
    # padded to the longest example of the batch, never beyond max_length
    assert batch["attention_mask"].sum(dim=1).max() == batch["input_ids"].shape[1] <= 64
    assert batch["labels"].tolist() == [1, 0, 1, 1]  # RTE dev rows 1-4: not_entailment, entailment, ..., ...
    first = bert_tokenizer.decode(batch["input_ids"][0], skip_special_tokens=True)
    assert first.startswith("dana reeve, the widow of the actor christopher reeve")


def test_encoder_batch_for_regression_has_float_labels(bert_tokenizer, glue_dir: Path):
    datamodule = _module(bert_tokenizer, "stsb", glue_dir)
    batch = next(iter(datamodule.val_dataloader()))
    assert batch["labels"].dtype == torch.float32
    assert batch["labels"][0].item() == 5.0
    assert (datamodule.num_labels, datamodule.is_regression) == (1, True)
    assert datamodule.metric_names == ("pearson", "spearman", "pearson_spearman_mean")


def test_single_sentence_task_has_no_second_segment(bert_tokenizer, glue_dir: Path):
    batch = next(iter(_module(bert_tokenizer, "sst2", glue_dir).val_dataloader()))
    assert batch["token_type_ids"].sum() == 0
    assert batch["labels"].tolist()[0] == 1


def test_text_to_text_batch(t5_tokenizer, glue_dir: Path):
    datamodule = _module(t5_tokenizer, "rte", glue_dir, text_to_text=True)
    batch = first_rows(datamodule)
    assert set(batch) == {"input_ids", "attention_mask", "labels", "label"}
    assert batch["label"].dtype == batch["labels"].dtype == batch["input_ids"].dtype == torch.long
    assert batch["label"].tolist() == [1, 0, 1, 1]
    targets = [
        t5_tokenizer.decode([t for t in row if t != -100], skip_special_tokens=True)
        for row in batch["labels"]
    ]
    assert targets == ["not_entailment", "entailment", "not_entailment", "not_entailment"]
    assert (batch["labels"] == -100).any()  # "entailment" is shorter than "not_entailment"
    prompt = t5_tokenizer.decode(batch["input_ids"][0], skip_special_tokens=True)
    assert prompt.startswith("rte sentence1: Dana Reeve, the widow of the actor Christopher Reeve")
    assert " sentence2: Christopher Reeve had an accident." in prompt
    assert datamodule.verbalizers == ["entailment", "not_entailment"]
    assert datamodule.task is get_task("rte")


def test_text_to_text_regression_targets(t5_tokenizer, glue_dir: Path):
    datamodule = _module(t5_tokenizer, "stsb", glue_dir, text_to_text=True, target_max_length=4)
    batch = next(iter(datamodule.val_dataloader()))
    assert batch["label"].dtype == torch.float32
    targets = t5_tokenizer.batch_decode(batch["labels"].clamp(min=0), skip_special_tokens=True)
    assert targets == [format_target(datamodule.task, score) for score in batch["label"].tolist()]
    assert targets[0] == "5.0"
    assert batch["labels"].shape[1] <= 4


@pytest.mark.parametrize(
    ("score", "target"),
    [(5.0, "5.0"), (0.0, "0.0"), (3.4, "3.4"), (3.45, "3.4"), (2.75, "2.8"), (1.667, "1.6"), (0.04, "0.0")],
)
def test_stsb_target_is_the_score_rounded_to_a_fifth(score: float, target: str):
    stsb = get_task("stsb")
    assert format_target(stsb, score) == target


def test_prompts_and_label_words():
    rte, sst2 = get_task("rte"), get_task("sst2")
    assert format_input(rte, ["A.", "B."]) == "rte sentence1: A. sentence2: B."
    assert format_input(sst2, ["great ."]) == "sst2 sentence: great ."
    assert format_input(get_task("qnli"), ["Q?", "S."]) == "qnli question: Q? sentence: S."
    assert [format_target(rte, index) for index in (0, 1)] == ["entailment", "not_entailment"]


def test_tokenises_once(monkeypatch: pytest.MonkeyPatch, bert_tokenizer, glue_dir: Path):
    calls = []
    original_map = datasets.Dataset.map

    def counting_map(self, *args, **kwargs):
        calls.append(len(self))
        return original_map(self, *args, **kwargs)

    monkeypatch.setattr(datasets.Dataset, "map", counting_map)
    datamodule = _module(bert_tokenizer, "rte", glue_dir)
    assert calls == [16, 8]  # train, and dev once although it is both validation and test
    assert datamodule.data["test"][""] is datamodule.data["validation"][""]
    datamodule.setup("test")
    datamodule.setup("validate")
    assert calls == [16, 8]


def test_sample_limits_apply_after_the_protocol_shuffle(bert_tokenizer, glue_dir: Path):
    full = _module(bert_tokenizer, "rte", glue_dir, split_protocol="compacter", max_eval_samples=None)
    limited = _module(bert_tokenizer, "rte", glue_dir, split_protocol="compacter", max_eval_samples=5)
    for stage, size in (("validation", 138), ("test", 139)):
        assert len(full.data[stage][""]) == size
        assert limited.data[stage][""]["input_ids"] == full.data[stage][""]["input_ids"][:5]
    assert len(limited.data["train"]) == 16


def test_mnli_glue_protocol_gives_one_loader_per_dev_set(bert_tokenizer, mnli_dir: Path):
    datamodule = _module(bert_tokenizer, "mnli", mnli_dir, max_eval_samples=None)
    assert (
        datamodule.eval_split_names("validation")
        == datamodule.eval_split_names("test")
        == ["matched", "mismatched"]
    )
    for loaders in (datamodule.val_dataloader(), datamodule.test_dataloader()):
        assert isinstance(loaders, list)
        assert [len(loader.dataset) for loader in loaders] == [48, 40]
    assert datamodule.num_labels == 3


def test_mnli_compacter_protocol_gives_single_loaders(bert_tokenizer, mnli_dir: Path):
    datamodule = _module(bert_tokenizer, "mnli", mnli_dir, split_protocol="compacter", max_eval_samples=None)
    assert datamodule.eval_split_names("validation") == [""]
    assert isinstance(datamodule.val_dataloader(), DataLoader)
    assert len(datamodule.val_dataloader().dataset) == 40
    assert len(datamodule.test_dataloader().dataset) == 48


def test_train_loader_shuffles_reproducibly(bert_tokenizer, glue_dir: Path):
    datamodule = _module(bert_tokenizer, "rte", glue_dir)

    def first_batch(seed: int) -> torch.Tensor:
        L.seed_everything(seed, verbose=False)
        return next(iter(datamodule.train_dataloader()))["input_ids"]

    assert torch.equal(first_batch(0), first_batch(0))
    assert not torch.equal(first_batch(0), first_batch(1))
    unshuffled = datamodule.data["train"][:4]["input_ids"]
    assert first_batch(0)[:, :5].tolist() != [ids[:5] for ids in unshuffled]


def test_hub_source_requests_the_hub_split_names(monkeypatch: pytest.MonkeyPatch, bert_tokenizer):
    requested = []

    def fake_load_dataset(path, name=None, split=None, cache_dir=None):
        requested.append((path, name, split))
        return datasets.Dataset.from_dict(
            {
                "premise": ["A man sleeps."] * 3,
                "hypothesis": ["A man rests."] * 3,
                "label": [0, 1, 2],
                "idx": [0, 1, 2],
            }
        )

    monkeypatch.setattr(datasets, "load_dataset", fake_load_dataset)
    datamodule = GlueDataModule(get_task("mnli"), bert_tokenizer, source="hub")
    datamodule.setup()
    assert sorted(requested) == [
        ("nyu-mll/glue", "mnli", "train"),
        ("nyu-mll/glue", "mnli", "validation_matched"),
        ("nyu-mll/glue", "mnli", "validation_mismatched"),
    ]
    assert next(iter(datamodule.train_dataloader()))["labels"].tolist() != []


def test_glue_dir_from_environment(monkeypatch: pytest.MonkeyPatch, bert_tokenizer, glue_dir: Path):
    monkeypatch.setenv("GLUE_DIR", str(glue_dir))
    datamodule = GlueDataModule(get_task("wnli"), bert_tokenizer, source="local", max_train_samples=4)
    datamodule.setup()
    assert len(datamodule.val_dataloader().dataset) == 71


def test_construction_and_use_errors(monkeypatch: pytest.MonkeyPatch, bert_tokenizer):
    monkeypatch.delenv("GLUE_DIR", raising=False)
    with pytest.raises(DataError, match="data.source=local needs a GLUE directory"):
        GlueDataModule(get_task("rte"), bert_tokenizer, source="local")
    with pytest.raises(ValueError, match="Unknown GLUE task 'glue'"):
        get_task("glue")
    datamodule = GlueDataModule(get_task("rte"), bert_tokenizer, source="hub")
    with pytest.raises(RuntimeError, match=r"setup\(\) must run before"):
        datamodule.train_dataloader()
    with pytest.raises(ValueError, match="stage must be one of"):
        datamodule.eval_split_names("train")
