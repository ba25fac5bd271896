"""Malformed TSV rows and invalid overrides end in the project's own errors, never deep library tracebacks."""

from __future__ import annotations

import string

import pytest
from hydra.errors import HydraException
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from src.data import DataError, get_task
from src.data.readers import read_local
from src.errors import USER_ERRORS
from src.run.fit import run
from tests.conftest import QUICK, compose_config

RTE = get_task("rte")
HEADER = "index\tsentence1\tsentence2\tlabel\n"
cell = st.text(alphabet=string.ascii_letters + " \"'\\\t,;é\x00", max_size=12)
row = st.lists(cell, min_size=0, max_size=6).map("\t".join)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=st.lists(row, min_size=0, max_size=6))
def test_malformed_tsv_rows_raise_data_error_naming_the_file(tmp_path, rows):
    path = tmp_path / "RTE" / "train.tsv"
    path.parent.mkdir(exist_ok=True)
    path.write_text(HEADER + "".join(f"{r}\n" for r in rows), encoding="utf-8")
    try:
        dataset = read_local(RTE, tmp_path, "train")
    except DataError as error:
        assert str(path) in str(error)
    else:
        assert len(dataset) == len(rows)
        assert set(dataset["label"]) <= {0, 1}


INVALID = [
    ("adapter=krona", "adapter.a_shape=[0,3]", "adapter.b_shape=[1,1]"),
    ("adapter=krona", "adapter.init=normal"),
    ("adapter=krona", "adapter.a_shape=[4,4]"),
    ("adapter=krona", "adapter.targets=[nothing_here]"),
    ("adapter=lora", "adapter.rank=0"),
    ("adapter=lora", "+adapter.r=4"),
    ("data.max_length=-1",),
    ("data.batch_size=0",),
    ("data.source=ftp",),
    ("data.split_protocol=bogus",),
    ("backbone.init=zeros",),
    ("backbone.family=rnn",),
    ("optim.scheduler=cosine",),
    ("optim.warmup_steps=2", "optim.warmup_ratio=0.1"),
    ("task=glue",),
    ("adapter=nope",),
    ("trainer=tpu_pod",),
    ("data.max_length=",),
]


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(first=st.sampled_from(INVALID), second=st.sampled_from(INVALID))
def test_invalid_overrides_fail_cleanly_before_training(tmp_path, first, second):
    run_dir = tmp_path / "run"
    with pytest.raises((*USER_ERRORS, HydraException)):
        run(compose_config((*QUICK, "backbone=tiny_bert", "callbacks=none", *first, *second), run_dir))
    assert not (run_dir / "lightning_logs").exists() and not (run_dir / "checkpoints").exists()
