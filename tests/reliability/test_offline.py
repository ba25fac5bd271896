"""With no network, hub loads fail within seconds and say how to use a local copy instead."""

from __future__ import annotations

import time

import datasets
import huggingface_hub.constants
import pytest

from src.backbones import BackboneError
from src.data import DataError
from src.run import offline
from src.run.fit import run
from tests.conftest import QUICK, compose_config

FAST_S = 10


@pytest.fixture
def hub_offline(monkeypatch):
    """What ``go_offline_if_unreachable`` does on a machine without network, undone after the test."""
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", True)
    monkeypatch.setattr(datasets.config, "HF_HUB_OFFLINE", True)


def failure_of(tmp_path, *overrides: str) -> tuple[Exception, float]:
    started = time.perf_counter()
    with pytest.raises((BackboneError, DataError)) as caught:
        run(compose_config((*QUICK, "callbacks=none", *overrides), tmp_path / "run"))
    return caught.value, time.perf_counter() - started


@pytest.mark.usefixtures("hub_offline")
def test_pretrained_from_hub_fails_fast_with_local_copy_hint(tmp_path):
    error, seconds = failure_of(tmp_path, "backbone=bert_base")
    assert isinstance(error, BackboneError)
    assert "'bert-base-uncased'" in str(error) and "backbone.pretrained=/path/to/folder" in str(error)
    assert seconds < FAST_S


@pytest.mark.usefixtures("hub_offline")
def test_glue_from_hub_fails_fast_with_local_copy_hint(tmp_path):
    error, seconds = failure_of(tmp_path, "backbone=tiny_bert", "data.source=hub")
    assert isinstance(error, DataError)
    assert "data.glue_dir" in str(error) and "RTE/train.tsv" in str(error)
    assert seconds < FAST_S


def test_unreachable_hub_switches_to_offline_mode(monkeypatch):
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", False)
    monkeypatch.setattr(datasets.config, "HF_HUB_OFFLINE", False)
    monkeypatch.setattr(offline, "hub_reachable", lambda: False)
    assert offline.go_offline_if_unreachable()
    assert huggingface_hub.constants.HF_HUB_OFFLINE and datasets.config.HF_HUB_OFFLINE


def test_an_explicit_choice_is_left_alone(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "0")
    monkeypatch.setattr(offline, "hub_reachable", lambda: pytest.fail("no probe when the user has chosen"))
    assert not offline.go_offline_if_unreachable()
