"""Bad input is refused before any training, with a message that names the fix."""

from __future__ import annotations

import json
import shutil

import pytest
from hydra.errors import ConfigCompositionException, MissingConfigException

from src.adapters import AdapterError
from src.backbones import BackboneError
from src.errors import ConfigError
from src.run.cli import USAGE_EXIT_CODE
from src.run.fit import run
from tests.conftest import GLUE_DIR, MINILM_DIR, QUICK, compose_config

from .helpers import finish_cli, start_cli

QUICK_BERT = (*QUICK, "backbone=tiny_bert", "task=rte")


def refused_before_training(tmp_path, error: type[Exception], *overrides: str) -> str:
    """Run in-process; the error's message, after checking nothing trained and results.json has it."""
    run_dir = tmp_path / "run"
    with pytest.raises(error) as caught:
        run(compose_config((*QUICK_BERT, *overrides), run_dir))
    assert not (run_dir / "checkpoints").exists()
    assert json.loads((run_dir / "results.json").read_text())["error"]["type"] == error.__name__
    return str(caught.value)


def corrupt_rte(tmp_path) -> tuple[str, int]:
    """A glue dir whose RTE train.tsv loses a column on line 5; returns (glue dir, that line)."""
    glue = tmp_path / "glue"
    shutil.copytree(GLUE_DIR / "RTE", glue / "RTE")
    train = glue / "RTE" / "train.tsv"
    lines = train.read_text(encoding="utf-8").splitlines(keepends=True)
    lines[4] = lines[4].rsplit("\t", 1)[0] + "\n"
    train.write_text("".join(lines), encoding="utf-8")
    return str(glue), 5


def test_cli_reports_user_errors_in_one_line_with_exit_code_2(tmp_path):
    glue, line = corrupt_rte(tmp_path)
    bad_shapes = start_cli(
        *QUICK_BERT,
        "adapter=krona",
        "adapter.a_shape=[5,5]",
        "adapter.b_shape=[5,5]",
        f"hydra.run.dir={tmp_path / 'a'}",
    )
    bad_tsv = start_cli(*QUICK_BERT, f"data.glue_dir={glue}", f"hydra.run.dir={tmp_path / 'b'}")
    for process, expected in (
        (bad_shapes, ["error: KronA factors a_shape=[5, 5]", "Valid shapes for this layer"]),
        (bad_tsv, [f"{glue}/RTE/train.tsv, line {line}", "expected 4 tab-separated columns"]),
    ):
        result = finish_cli(process)
        assert result.returncode == USAGE_EXIT_CODE, result.stderr[-2000:]
        assert "Traceback" not in result.stderr
        for text in expected:
            assert text in result.stderr
    assert not (tmp_path / "a" / "checkpoints").exists() and not (tmp_path / "b" / "checkpoints").exists()


def test_adakron_bottleneck_not_divisible(tmp_path):
    message = refused_before_training(
        tmp_path, AdapterError, "adapter=adakron", "adapter.r=30", "adapter.a=4"
    )
    assert "a to divide adapter.r" in message and "r=48 a=4" in message


def test_unknown_targets_list_the_linear_layers(tmp_path):
    message = refused_before_training(tmp_path, AdapterError, "adapter=krona", "adapter.targets=[qkv]")
    assert "query" in message and "value" in message and "adapter.targets" in message


def test_max_length_beyond_position_table(tmp_path):
    message = refused_before_training(tmp_path, ConfigError, "data.max_length=1024")
    assert "data.max_length=512 or less" in message


def test_local_model_folder_missing_weights(tmp_path):
    folder = tmp_path / "minilm_without_weights"
    folder.mkdir()
    for name in ("config.json", "vocab.txt", "tokenizer_config.json"):
        if (MINILM_DIR / name).exists():
            shutil.copy(MINILM_DIR / name, folder / name)
    message = refused_before_training(
        tmp_path, BackboneError, "backbone=minilm", f"backbone.pretrained={folder}"
    )
    assert "model.safetensors" in message and "save_pretrained" in message


def test_unknown_adapter_setting_names_the_valid_ones(tmp_path):
    with pytest.raises(ConfigCompositionException, match=r"\+adapter.foo=1"):
        compose_config(("adapter=krona", "adapter.foo=1"))  # Hydra: the key is not in the config
    message = refused_before_training(tmp_path, AdapterError, "adapter=krona", "+adapter.foo=1")
    assert "no setting(s) ['foo']" in message and "a_shape" in message and "targets" in message


@pytest.mark.parametrize("group", ["adapter", "backbone", "task"])
def test_unknown_group_option_lists_the_options(group):
    with pytest.raises(MissingConfigException) as caught:
        compose_config((f"{group}=xyz",))
    message = str(caught.value)
    assert f"Could not find '{group}/xyz'" in message
    assert {"adapter": "krona", "backbone": "tiny_bert", "task": "rte"}[group] in message
