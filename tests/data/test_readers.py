"""Reading GLUE from the real classic-layout TSVs and (faked) from the hub, and every error path."""

from __future__ import annotations

import csv
from pathlib import Path

import datasets
import pytest

from src.data import DataError, get_task
from src.data.readers import read_hub, read_local, split_reader

ROW_COUNTS = [
    ("cola", "train", 8551),
    ("cola", "validation", 1043),
    ("sst2", "validation", 872),
    ("mrpc", "train", 3668),
    ("mrpc", "validation", 408),
    ("stsb", "train", 5749),
    ("stsb", "validation", 1500),
    ("rte", "train", 2490),
    ("rte", "validation", 277),
    ("wnli", "train", 635),
    ("wnli", "validation", 71),
    ("qnli", "validation", 5463),
]


@pytest.mark.parametrize(("name", "split", "rows"), ROW_COUNTS)
def test_real_files_read_every_row(cached_read, name: str, split: str, rows: int):
    dataset = cached_read(name, split)
    assert len(dataset) == rows
    assert dataset.column_names == [*get_task(name).text_fields, "label"]


@pytest.mark.parametrize(("local_dir", "rows"), [("MRPC", 408), ("STS-B", 1500), ("QNLI", 5463)])
def test_quote_none_keeps_rows_that_default_quoting_merges(
    glue_dir: Path, cached_read, local_dir: str, rows: int
):
    with (glue_dir / local_dir / "dev.tsv").open(encoding="utf-8-sig", newline="") as file:
        default_quoting_rows = sum(1 for _ in csv.reader(file, delimiter="\t")) - 1
    assert default_quoting_rows < rows  # what a naive parser would silently lose
    name = {"MRPC": "mrpc", "STS-B": "stsb", "QNLI": "qnli"}[local_dir]
    assert len(cached_read(name, "validation")) == rows


def test_mrpc_bom_is_stripped_and_quotes_are_kept_verbatim(cached_read):
    first = cached_read("mrpc", "validation")[0]
    assert first["label"] == 1
    assert first["sentence1"].startswith("He said the foodservice pie business doesn 't fit")
    assert first["sentence2"].startswith('" The foodservice pie business does not fit')


@pytest.mark.parametrize(
    ("name", "split", "text_field", "text_start", "label"),
    [
        ("cola", "validation", "sentence", "The sailors rode the breeze clear of the rocks.", 1),
        ("sst2", "validation", "sentence", "it 's a charming and often affecting journey . ", 1),
        ("sst2", "train", "sentence", "hide new secretions from the parental units ", 0),
        ("rte", "train", "sentence1", "No Weapons of Mass Destruction Found in Iraq Yet.", 1),
        ("rte", "validation", "sentence1", "Dana Reeve, the widow of the actor", 1),
        ("wnli", "validation", "sentence1", "The drain is clogged with hair.", 0),
        ("wnli", "train", "sentence1", "I stuck a pin through a carrot.", 1),
        ("qnli", "validation", "question", "What came into force after the new constitution", 0),
        ("stsb", "validation", "sentence1", "A man with a hard hat is dancing.", 5.0),
    ],
)
def test_known_rows_map_to_the_hub_class_index(cached_read, name, split, text_field, text_start, label):
    first = cached_read(name, split)[0]
    assert first[text_field].startswith(text_start)
    assert first["label"] == label


def test_label_names_follow_the_hub_class_label(cached_read):
    rte = cached_read("rte", "validation")
    assert rte.features["label"].names == ["entailment", "not_entailment"]
    assert rte.features["label"].int2str(rte[0]["label"]) == "not_entailment"
    assert cached_read("stsb", "validation").features["label"].dtype == "float32"


def test_samples_qqp_and_mnli(samples_dir: Path, mnli_dir: Path):
    qqp = read_local(get_task("qqp"), samples_dir, "train")
    assert len(qqp) == 32
    assert qqp[0] == {
        "question1": "Why do some people think that having a baby is a blessing?",
        "question2": "Why is having a baby a blessing?",
        "label": 1,
    }
    mnli = read_local(get_task("mnli"), mnli_dir, "validation_matched")
    assert len(mnli) == 48
    assert mnli.column_names == ["premise", "hypothesis", "label"]
    assert mnli[0]["premise"].startswith("I remember the days when there were only a handful of people")
    lines = (mnli_dir / "MNLI" / "dev_matched.tsv").read_text(encoding="utf-8").splitlines()[1:]
    gold = [line.split("\t")[-1] for line in lines]
    assert [mnli.features["label"].int2str(index) for index in mnli["label"]] == gold
    assert len(read_local(get_task("mnli"), mnli_dir, "validation_mismatched")) == 40


# --- errors -------------------------------------------------------------------------------------


def _write(root: Path, local_dir: str, file: str, text: str) -> Path:
    (root / local_dir).mkdir(parents=True, exist_ok=True)
    path = root / local_dir / file
    path.write_text(text, encoding="utf-8")
    return path


def test_missing_folder_says_where_and_how_to_fix(tmp_path: Path):
    with pytest.raises(DataError) as error:
        read_local(get_task("rte"), tmp_path, "train")
    message = str(error.value)
    assert (
        f"expected the folder {tmp_path / 'RTE'} (with train.tsv)" in message
    )  # a folder, not the file's path
    for hint in ("<glue_dir>/RTE/train.tsv", "data.glue_dir=", "GLUE_DIR", "data.source=hub"):
        assert hint in message


def test_missing_mnli_folder_is_called_a_folder(tmp_path: Path):
    with pytest.raises(DataError) as error:
        read_local(get_task("mnli"), tmp_path, "validation_matched")
    assert f"expected the folder {tmp_path / 'MNLI'} (with dev_matched.tsv)" in str(error.value)


def test_missing_file_in_existing_folder(samples_dir: Path):
    with pytest.raises(DataError, match=r"expected the file .*MNLI/dev_mismatched\.tsv"):
        read_local(get_task("mnli"), samples_dir, "validation_mismatched")


def test_unknown_local_split():
    with pytest.raises(DataError, match="no local split 'test'"):
        read_local(get_task("rte"), "/nowhere", "test")


def test_malformed_row_reports_file_line_and_column_counts(tmp_path: Path):
    path = _write(
        tmp_path,
        "RTE",
        "train.tsv",
        "index\tsentence1\tsentence2\tlabel\n0\ta\tb\tentailment\n1\ta b\tnot_entailment\n",
    )
    with pytest.raises(DataError) as error:
        read_local(get_task("rte"), tmp_path, "train")
    assert f"{path}, line 3: expected 4 tab-separated columns, found 3" in str(error.value)


def test_malformed_row_in_headerless_cola(tmp_path: Path):
    _write(tmp_path, "CoLA", "dev.tsv", "gj04\t1\t\tFine.\ngj04\t0\t*\tToo\tmany.\n")
    with pytest.raises(DataError, match="line 2: expected 4 tab-separated columns, found 5"):
        read_local(get_task("cola"), tmp_path, "validation")


def test_label_outside_the_task_labels(tmp_path: Path):
    path = _write(tmp_path, "RTE", "dev.tsv", "index\tsentence1\tsentence2\tlabel\n0\ta\tb\tmaybe\n")
    with pytest.raises(DataError) as error:
        read_local(get_task("rte"), tmp_path, "validation")
    assert (
        str(error.value) == f"{path}, line 2: label 'maybe' is not one of ['entailment', 'not_entailment']."
    )


def test_regression_label_that_is_not_a_number(tmp_path: Path):
    header = "index\tgenre\tfilename\tyear\told_index\tsource1\tsource2\tsentence1\tsentence2\tscore\n"
    _write(tmp_path, "STS-B", "dev.tsv", header + "0\tg\tf\ty\t0\tn\tn\ta\tb\tfive\n")
    with pytest.raises(DataError, match="line 2: label 'five' is not a number"):
        read_local(get_task("stsb"), tmp_path, "validation")


STSB_HEADER = "index\tgenre\tfilename\tyear\told_index\tsource1\tsource2\tsentence1\tsentence2\tscore\n"


@pytest.mark.parametrize("score", ["50.0", "-0.5", "5.01", "nan", "inf", "-inf", "NaN"])
def test_regression_label_outside_the_task_range_names_file_and_line(tmp_path: Path, score: str):
    path = _write(
        tmp_path,
        "STS-B",
        "dev.tsv",
        STSB_HEADER + "0\tg\tf\ty\t0\tn\tn\ta\tb\t3.2\n" + f"1\tg\tf\ty\t0\tn\tn\ta\tb\t{score}\n",
    )
    with pytest.raises(DataError) as error:
        read_local(get_task("stsb"), tmp_path, "validation")
    assert str(error.value).startswith(f"{path}, line 3: label '{score}' is outside stsb's range [0, 5].")


@pytest.mark.parametrize("score", ["0", "5", "5.0", "0.0", "2.5"])
def test_regression_labels_at_the_range_ends_are_read(tmp_path: Path, score: str):
    _write(tmp_path, "STS-B", "dev.tsv", STSB_HEADER + f"0\tg\tf\ty\t0\tn\tn\ta\tb\t{score}\n")
    assert read_local(get_task("stsb"), tmp_path, "validation")["label"] == [float(score)]


def test_undecodable_bytes_name_the_file_and_line(tmp_path: Path):
    path = _write(tmp_path, "RTE", "train.tsv", "index\tsentence1\tsentence2\tlabel\n0\ta\tb\tentailment\n")
    path.write_bytes(path.read_bytes() + b"1\ta\xff\xfe\tb\tentailment\n")
    with pytest.raises(DataError) as error:
        read_local(get_task("rte"), tmp_path, "train")
    assert str(error.value).startswith(f"{path}, line 3: bytes that are not UTF-8 text")


def test_a_binary_file_is_refused_at_its_first_line(tmp_path: Path):
    path = tmp_path / "RTE" / "train.tsv"
    path.parent.mkdir()
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4)  # a PNG image saved as train.tsv
    with pytest.raises(DataError, match=rf"{path}, line 1: bytes that are not UTF-8 text"):
        read_local(get_task("rte"), tmp_path, "train")


def test_byte_order_mark_is_still_stripped(tmp_path: Path):
    path = _write(tmp_path, "RTE", "dev.tsv", "index\tsentence1\tsentence2\tlabel\n0\ta\tb\tentailment\n")
    path.write_bytes(b"\xef\xbb\xbf" + path.read_bytes())
    assert read_local(get_task("rte"), tmp_path, "validation")["label"] == [0]


@pytest.mark.parametrize("text", ["", "index\tsentence1\tsentence2\tlabel\n"])
def test_empty_file(tmp_path: Path, text: str):
    _write(tmp_path, "RTE", "train.tsv", text)
    with pytest.raises(DataError, match="train.tsv is empty"):
        read_local(get_task("rte"), tmp_path, "train")


def test_header_without_the_expected_columns(tmp_path: Path):
    _write(tmp_path, "RTE", "train.tsv", "index\tpremise\thypothesis\tlabel\n0\ta\tb\tentailment\n")
    with pytest.raises(DataError, match=r"header has no column\(s\) \['sentence1', 'sentence2'\]"):
        read_local(get_task("rte"), tmp_path, "train")


# --- hub ----------------------------------------------------------------------------------------


def test_read_hub_asks_for_nyu_mll_glue_and_drops_idx(monkeypatch: pytest.MonkeyPatch):
    calls = []

    def fake_load_dataset(path, name=None, split=None, cache_dir=None):
        calls.append((path, name, split, cache_dir))
        return datasets.Dataset.from_dict({"sentence1": ["a"], "sentence2": ["b"], "label": [1], "idx": [0]})

    monkeypatch.setattr(datasets, "load_dataset", fake_load_dataset)
    dataset = read_hub(get_task("rte"), "validation", cache_dir="/cache")
    assert calls == [("nyu-mll/glue", "rte", "validation", "/cache")]
    assert dataset.column_names == ["sentence1", "sentence2", "label"]


@pytest.mark.parametrize(
    "failure",
    [
        ConnectionError("Couldn't reach 'nyu-mll/glue' on the Hub (LocalEntryNotFoundError)"),
        TimeoutError("timed out"),
    ],
)
def test_unreachable_hub_points_at_local_data(monkeypatch: pytest.MonkeyPatch, failure: Exception):
    def unreachable(*args, **kwargs):
        raise failure

    monkeypatch.setattr(datasets, "load_dataset", unreachable)
    with pytest.raises(DataError) as error:
        read_hub(get_task("mrpc"), "train")
    message = str(error.value)
    for hint in (
        "nyu-mll/glue",
        str(failure),
        "data.glue_dir",
        "<glue_dir>/MRPC/train.tsv",
        "GLUE_DIR",
        "data.source=local",
    ):
        assert hint in message
    assert error.value.__cause__ is failure


# --- choosing the source ------------------------------------------------------------------------


def test_split_reader_chooses_local_or_hub(monkeypatch: pytest.MonkeyPatch, glue_dir: Path, tmp_path: Path):
    monkeypatch.delenv("GLUE_DIR", raising=False)
    rte = get_task("rte")
    assert split_reader(rte, "local", glue_dir).func is read_local
    assert split_reader(rte, "auto", glue_dir).func is read_local
    assert split_reader(rte, "auto").func is read_hub  # no folder given or found: the hub
    assert split_reader(rte, "hub", glue_dir).func is read_hub
    monkeypatch.setenv("GLUE_DIR", str(glue_dir))
    from_env = split_reader(rte, "auto")
    assert from_env.func is read_local and len(from_env("validation")) == 277


def test_split_reader_errors(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.delenv("GLUE_DIR", raising=False)
    with pytest.raises(DataError, match="data.source=local needs a GLUE directory.*GLUE_DIR"):
        split_reader(get_task("rte"), "local")
    with pytest.raises(DataError, match="Unknown data source 'ftp'; choose one of: auto, local, hub"):
        split_reader(get_task("rte"), "ftp")


@pytest.mark.parametrize("source", ["auto", "local"])
def test_a_glue_dir_that_does_not_exist_is_an_error_not_the_hub(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, source
):
    monkeypatch.delenv("GLUE_DIR", raising=False)
    with pytest.raises(
        DataError, match=rf"data.glue_dir={tmp_path / 'absent'} does not exist.*data.source=hub"
    ):
        split_reader(get_task("rte"), source, tmp_path / "absent")
    assert (
        split_reader(get_task("rte"), "hub", tmp_path / "absent").func is read_hub
    )  # hub asked for: no folder needed
