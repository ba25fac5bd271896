"""A table of invalid command lines: each exits 2 with one line naming the key and the fix, before any model.

The table runs in-process through the real entry point (``hydra_cli(src.train.main)`` with ``sys.argv``
set), which is what ``python -m src.train`` runs; a handful go through the real CLI in subprocesses.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
from pathlib import Path

import pytest

import src.run.fit as fit
import src.train as train
from src.run.cli import USAGE_EXIT_CODE, hydra_cli
from tests.conftest import GLUE_DIR

from .helpers import finish_cli, start_cli

# (command line, texts the message must contain: the key, then the fix)
TYPES = [
    ("optim.lr=abc", ["optim.lr='abc' is not a number", "e.g. optim.lr=0.001"]),
    ("seed=abc", ["seed='abc' is not an integer", "seed=42 (the default)"]),
    ("trainer.max_epochs=abc", ["trainer.max_epochs='abc' is not an integer", "trainer.max_epochs=3"]),
    ("adapter=krona adapter.scale=abc", ["adapter.scale='abc' is not a number", "adapter.scale=1.0"]),
    (
        "adapter=lora adapter.alpha=abc",
        ["adapter.alpha='abc' is not a number", "give adapter.alpha a number"],
    ),
    ("adapter=lora adapter.rank=2.5", ["adapter.rank=2.5 is not an integer", "adapter.rank=8"]),
    ("data.batch_size=big", ["data.batch_size='big' is not an integer", "data.batch_size=32"]),
    ("data.max_train_samples=ten", ["data.max_train_samples='ten' is not an integer", "give"]),
    ("train=maybe", ["train='maybe' is not true or false", "train=True"]),
    ("optim.betas=[0.9,abc]", ["optim.betas[1]='abc' is not a number", "give optim.betas[1] a number"]),
    ("optim.warmup_steps=1.5", ["optim.warmup_steps=1.5 is not an integer", "optim.warmup_steps=0"]),
    ("adapter=adakron adapter.r=x", ["adapter.r='x' is not an integer", "adapter.r=48"]),
    ("adapter=compacter adapter.n=two", ["adapter.n='two' is not an integer", "adapter.n=4"]),
    ("adapter=prefix adapter.length=long", ["adapter.length='long' is not an integer", "adapter.length=10"]),
    ("adapter=madakron adapter.num_experts=many", ["adapter.num_experts='many'", "adapter.num_experts=4"]),
    ("adapter=krona_b adapter.biases=one", ["adapter.biases='one' is not an integer", "adapter.biases=1"]),
    (
        "adapter=krona_res adapter.residual_init=high",
        ["adapter.residual_init='high' is not a number", "=1.0"],
    ),
    ("trainer.accumulate_grad_batches=two", ["trainer.accumulate_grad_batches='two'", "=1 (the default)"]),
    (
        "trainer.log_every_n_steps=often",
        ["trainer.log_every_n_steps='often'", "trainer.log_every_n_steps=5"],
    ),
    ("task.max_length=x", ["task.max_length='x' is not an integer", "give task.max_length an integer"]),
    (
        "adapter=lora adapter.train_head=perhaps",
        ["adapter.train_head='perhaps' is not true or false", "=True"],
    ),
    ("data.split_seed=abc", ["data.split_seed='abc' is not an integer", "data.split_seed=42"]),
    ("trainer.gradient_clip_val=abc", ["trainer.gradient_clip_val='abc' is not a number", "=1.0"]),
    ("adapter=pa adapter.scale=abc", ["adapter.scale='abc' is not a number", "adapter.scale=4.0"]),
]
RANGES = [
    ("optim.lr=-1", ["optim.lr=-1.0", "give a value > 0 (default 0.001)"]),
    ("optim.lr=0", ["optim.lr=0.0", "> 0"]),
    ("optim.warmup_ratio=2.0", ["optim.warmup_ratio=2.0", ">= 0 and < 1"]),
    ("optim.warmup_ratio=-0.5", ["optim.warmup_ratio=-0.5", ">= 0 and < 1"]),
    ("optim.warmup_steps=-10", ["optim.warmup_steps=-10", ">= 0"]),
    ("optim.weight_decay=-0.1", ["optim.weight_decay=-0.1", ">= 0"]),
    ("optim.eps=0", ["optim.eps=0.0", "> 0"]),
    ("optim.betas=[2,0.999]", ["optim.betas=[2.0, 0.999]", "two numbers in [0, 1)"]),
    ("optim.betas=[0.9]", ["optim.betas=[0.9]", "e.g. optim.betas=[0.9,0.999]"]),
    ("optim.scheduler=cosine", ["optim.scheduler='cosine'", "choose one of ['linear', 'constant']"]),
    ("optim.warmup_steps=2 optim.warmup_ratio=0.1", ["optim.warmup_steps or optim.warmup_ratio", "not both"]),
    ("adapter=lora adapter.dropout=1.5", ["adapter.dropout=1.5", ">= 0 and < 1"]),
    ("adapter=lora adapter.dropout=-0.1", ["adapter.dropout=-0.1", ">= 0 and < 1"]),
    ("adapter=lora adapter.rank=0", ["adapter.rank", "positive integer"]),
    ("adapter=lora adapter.alpha=-2", ["adapter.alpha=-2.0", "> 0"]),
    ("data.max_train_samples=-10", ["data.max_train_samples=-10", ">= 1"]),
    ("data.max_eval_samples=0", ["data.max_eval_samples=0", ">= 1"]),
    ("data.num_workers=-1", ["data.num_workers=-1", ">= 0"]),
    ("data.batch_size=0", ["data.batch_size=0", ">= 1 (default 32)"]),
    ("data.eval_batch_size=0", ["data.eval_batch_size=0", ">= 1"]),
    ("data.max_length=0", ["data.max_length=0", ">= 1"]),
    ("data.source=ftp", ["data.source='ftp'", "choose one of ['auto', 'local', 'hub']"]),
    ("data.split_protocol=bogus", ["data.split_protocol='bogus'", "'glue', 'compacter'"]),
    ("trainer.accumulate_grad_batches=0", ["trainer.accumulate_grad_batches=0", ">= 1"]),
    ("trainer.max_epochs=-5", ["trainer.max_epochs=-5", ">= -1"]),
    ("trainer.log_every_n_steps=0", ["trainer.log_every_n_steps=0", ">= 1"]),
    ("trainer.precision=15", ["trainer.precision=15", "'bf16-mixed'"]),
    ("trainer.compile=fast", ["trainer.compile='fast'", "'max-autotune'"]),
    ("trainer.compile_backend=aot_eager", ["trainer.compile_backend=aot_eager with trainer.compile=false"]),
    (
        "trainer.compile=max-autotune trainer.compile_backend=aot_eager",
        ["trainer.compile=max-autotune is an inductor mode"],
    ),
    ("trainer.limit_train_batches=-1", ["trainer.limit_train_batches=-1", ">= 0"]),
    ("trainer.gradient_clip_val=-1", ["trainer.gradient_clip_val=-1.0", ">= 0"]),
    ("seed=-1", ["seed=-1", ">= 0 and <= 4294967295"]),
    ("backbone.init=zeros", ["backbone.init='zeros'", "choose one of ['pretrained', 'random']"]),
    ("backbone.family=rnn", ["backbone.family='rnn'", "choose one of [", "'encoder'"]),
    ("task.max_length=0", ["task.max_length=0", ">= 1"]),
    ("task.name=imdb", ["task.name='imdb'", "'rte'"]),
    ("adapter=houlsby adapter.bottleneck=0", ["adapter.bottleneck=0", ">= 1"]),
    ("adapter=pfeiffer adapter.reduction_factor=0", ["adapter.reduction_factor=0.0", "> 0"]),
    ("adapter=compacter adapter.n=0", ["adapter.n=0", "positive integers"]),
    ("adapter=adakron adapter.r=30 adapter.a=4", ["adapter.a to divide adapter.r", "r=48 a=4"]),
    ("adapter=madakron adapter.num_experts=0", ["adapter.num_experts=0", "at least 1"]),
    ("adapter=prefix adapter.length=0", ["adapter.length=0", "at least one position"]),
    ("adapter=krona adapter.init=normal", ["adapter.init='normal'", "a_kaiming"]),
    ("adapter=krona adapter.budget=0", ["adapter.budget=0", "positive number"]),
    ("adapter=krona adapter.a_shape=[0,3] adapter.b_shape=[1,1]", ["adapter.a_shape", "positive integers"]),
    ("adapter=krona_b adapter.biases=3", ["adapter.biases=3", "use 0, 1"]),
    ("adapter=krona_b adapter.activation=swish2", ["adapter.activation='swish2'", "gelu"]),
    ("adapter=krona_res adapter.residual=gate", ["adapter.residual='gate'", "sigres"]),
    ("adapter=pa adapter.placement=everywhere", ["adapter.placement", "ffn_attention"]),
    ("adapter=peft adapter.peft_type=NOPE", ["adapter.peft_type='NOPE'", "LORA"]),
    ("callbacks.latency.iters=abc", ["callbacks.latency.iters='abc'", "LatencyCallback"]),
    ("callbacks.latency.protocol=fast", ["callbacks.latency.protocol='fast'", "quick, paper"]),
    ("callbacks.merge.tolerance=tiny", ["callbacks.merge.tolerance='tiny'", "MergeCallback"]),
    (
        "callbacks.merge.dequantize=float64",
        ["callbacks.merge.dequantize='float64'", "float32, bfloat16, float16"],
    ),
    ("backbone.quantize=int4", ["backbone.quantize='int4'", "'nf4', 'fp4', 'int8'"]),
    (
        "backbone.quantize=nf4 adapter=full",
        ["adapter=full trains every backbone weight", "backbone.quantize=none"],
    ),
    ("backbone.quantize=int8 adapter=peft", ["no bitsandbytes layer for LOKR", "adapter.peft_type=LORA"]),
]
KEYS_AND_OPTIONS = [
    (
        "adapter=lora adapter.foo=1",
        ["adapter.foo is not a setting of LoRAConfig", "Valid settings:", "dropout"],
    ),
    ("+adapter.foo=1", ["no setting(s) ['foo']", "Valid settings", "a_shape"]),
    ("optim.momentum=0.9", ["optim.momentum is not a setting of OptimSettings", "warmup_ratio"]),
    ("data.shuffle=false", ["data.shuffle is not a setting of DataSettings", "max_train_samples"]),
    (
        "+trainer.max_epoch=3",
        ["trainer.max_epoch is not a keyword of lightning.pytorch.Trainer", "max_epochs"],
    ),
    ("+callbacks.latency.iter=3", ["callbacks.latency.iter is not a keyword", "iters"]),
    (
        "+logger.flush_every=3",
        [
            "logger.flush_every is not a keyword of lightning.pytorch.loggers.CSVLogger",
            "flush_logs_every_n_steps",
        ],
    ),
    ("adapter=xyz", ["there is no adapter/xyz.yaml", "choose adapter=<one of", "krona_res"]),
    ("backbone=xyz", ["there is no backbone/xyz.yaml", "tiny_bert"]),
    ("task=glue", ["there is no task/glue.yaml", "task=<one of", "mnli"]),
    ("trainer=tpu_pod", ["there is no trainer/tpu_pod.yaml", "ddp"]),
    ("optim=sgd", ["there is no optim/sgd.yaml", "adamw"]),
    ("logger=mlflow", ["there is no logger/mlflow.yaml", "wandb_offline"]),
    ("optim.lr=[", ["cannot parse 'optim.lr=['", "override_grammar"]),
    ("+adapter.a_shape=3", ["An item is already at 'adapter.a_shape'", "remove + prefix"]),
    (
        "+sweep=krona_shapes adapter=lora",
        ["adapter.a_shape is not a setting of LoRAConfig", "conf/sweep/krona_shapes.yaml"],
    ),
]
PATHS = [
    (
        "ckpt_path=/nonexistent.ckpt",
        ["ckpt_path=/nonexistent.ckpt: no such file", "pass a Lightning .ckpt file"],
    ),
    ("data.glue_dir=/nonexistent", ["data.glue_dir=/nonexistent does not exist", "data.source=hub"]),
    (
        "data.source=local data.glue_dir=/nonexistent",
        ["data.glue_dir=/nonexistent", "classic glue_data folder"],
    ),
]
TABLE = TYPES + RANGES + KEYS_AND_OPTIONS + PATHS


def model_built(*args, **kwargs):
    raise AssertionError("a model was built for an invalid command line")


def run_in_process(monkeypatch, capsys, run_dir: Path, *arguments: str) -> tuple[int, str]:
    """``python -m src.train <arguments>`` in this process: (exit code, stderr)."""
    monkeypatch.delenv("HYDRA_FULL_ERROR", raising=False)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setattr(fit, "build_model", model_built)
    base = ["backbone=tiny_bert", "task=rte", f"data.glue_dir={GLUE_DIR}", f"hydra.run.dir={run_dir}"]
    monkeypatch.setattr(sys, "argv", ["src.train", *base, *arguments])
    capsys.readouterr()
    with pytest.raises(SystemExit) as exit_info:
        hydra_cli(train.main)
    return exit_info.value.code, capsys.readouterr().err


def assert_refused(code: int, stderr: str, expected: list[str], run_dir: Path) -> None:
    assert code == USAGE_EXIT_CODE, stderr
    lines = stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), stderr
    assert "Traceback" not in stderr
    for text in expected:
        assert text in lines[0], f"{text!r} not in {lines[0]!r}"
    results = run_dir / "results.json"
    if (
        results.exists()
    ):  # the run folder exists once Hydra got past composing: marked refused, nothing trained
        assert json.loads(results.read_text())["status"] == "refused"
    assert not (run_dir / "checkpoints").exists()


def test_the_table_is_at_least_sixty_command_lines():
    assert len(TABLE) >= 60 and len({line for line, _ in TABLE}) == len(TABLE)


@pytest.mark.parametrize(("line", "expected"), TABLE, ids=[line for line, _ in TABLE])
def test_invalid_command_line_exits_2_in_one_line(monkeypatch, capsys, tmp_path, line, expected):
    run_dir = tmp_path / "run"
    code, stderr = run_in_process(monkeypatch, capsys, run_dir, *line.split())
    assert_refused(code, stderr, expected, run_dir)


def rte_copy(tmp_path: Path) -> Path:
    glue = tmp_path / "glue"
    shutil.copytree(GLUE_DIR / "RTE", glue / "RTE")
    return glue


def stsb_with_label(tmp_path: Path, label: str) -> Path:
    """A glue dir whose STS-B train.tsv has ``label`` on line 4 (the real dev.tsv beside it)."""
    glue = tmp_path / "glue"
    (glue / "STS-B").mkdir(parents=True)
    shutil.copy(GLUE_DIR / "STS-B" / "dev.tsv", glue / "STS-B" / "dev.tsv")
    lines = (GLUE_DIR / "STS-B" / "train.tsv").read_text(encoding="utf-8").splitlines(keepends=True)[:20]
    lines[3] = lines[3].rsplit("\t", 1)[0] + f"\t{label}\n"
    (glue / "STS-B" / "train.tsv").write_text("".join(lines), encoding="utf-8")
    return glue


@pytest.mark.parametrize("label", ["50.0", "nan", "inf", "-1"])
def test_stsb_label_out_of_range_names_file_and_line(monkeypatch, capsys, tmp_path, label):
    glue = stsb_with_label(tmp_path, label)
    code, stderr = run_in_process(monkeypatch, capsys, tmp_path / "run", "task=stsb", f"data.glue_dir={glue}")
    expected = [
        f"{glue}/STS-B/train.tsv, line 4: label '{label}' is outside stsb's range [0, 5]",
        "Fix or remove",
    ]
    assert_refused(code, stderr, expected, tmp_path / "run")


def test_binary_train_tsv_names_file_and_line(monkeypatch, capsys, tmp_path):
    glue = rte_copy(tmp_path)
    (glue / "RTE" / "train.tsv").write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(range(256)))
    code, stderr = run_in_process(monkeypatch, capsys, tmp_path / "run", f"data.glue_dir={glue}")
    expected = [f"{glue}/RTE/train.tsv, line 1: bytes that are not UTF-8 text", "Re-download it"]
    assert_refused(code, stderr, expected, tmp_path / "run")


def test_class_label_outside_the_task_names_file_and_line(monkeypatch, capsys, tmp_path):
    glue = rte_copy(tmp_path)
    dev = glue / "RTE" / "dev.tsv"
    lines = dev.read_text(encoding="utf-8").splitlines(keepends=True)
    lines[2] = lines[2].rsplit("\t", 1)[0] + "\tmaybe\n"
    dev.write_text("".join(lines), encoding="utf-8")
    code, stderr = run_in_process(monkeypatch, capsys, tmp_path / "run", f"data.glue_dir={glue}")
    assert_refused(
        code, stderr, [f"{dev}, line 3: label 'maybe'", "['entailment', 'not_entailment']"], tmp_path / "run"
    )


def test_run_folder_that_cannot_be_created_is_one_line_naming_it(monkeypatch, capsys, tmp_path):
    blocker = tmp_path / "a_file"
    blocker.write_text("not a folder")
    run_dir = blocker / "run"
    code, stderr = run_in_process(monkeypatch, capsys, run_dir)
    assert_refused(code, stderr, [f"cannot write the run folder {run_dir}", "hydra.run.dir="], run_dir)


@pytest.mark.skipif(os.geteuid() == 0, reason="root may write into a read-only folder")
def test_run_folder_without_write_permission_is_one_line_naming_it(monkeypatch, capsys, tmp_path):
    locked = tmp_path / "locked"
    locked.mkdir(mode=0o500)
    run_dir = locked / "run"
    code, stderr = run_in_process(monkeypatch, capsys, run_dir)
    assert_refused(code, stderr, [f"cannot write the run folder {run_dir}", "Permission denied"], run_dir)


def test_full_traceback_when_the_user_asks_for_it(monkeypatch, capsys, tmp_path):
    monkeypatch.setattr(sys, "argv", ["src.train", "optim.lr=abc", f"hydra.run.dir={tmp_path}"])
    monkeypatch.setenv("HYDRA_FULL_ERROR", "1")
    with pytest.raises(Exception, match="Error merging override optim.lr=abc"):
        hydra_cli(train.main)
    monkeypatch.delenv("HYDRA_FULL_ERROR")
    with pytest.raises(SystemExit):
        hydra_cli(train.main)
    assert "HYDRA_FULL_ERROR" not in os.environ  # set only while Hydra runs


def test_through_the_real_cli(tmp_path):
    """A few of the table's lines as a user types them: a compose-time type, a range, a data file."""
    glue = stsb_with_label(tmp_path, "50.0")
    cases = {
        "type": (["optim.lr=abc"], ["optim.lr='abc' is not a number"]),
        "range": (["adapter=lora", "adapter.dropout=1.5"], ["adapter.dropout=1.5", ">= 0 and < 1"]),
        "data": (["task=stsb", f"data.glue_dir={glue}"], ["STS-B/train.tsv, line 4", "outside stsb's range"]),
    }
    processes = {
        name: start_cli(
            "backbone=tiny_bert", f"hydra.run.dir={tmp_path / name}", *arguments, HF_HUB_OFFLINE="1"
        )
        for name, (arguments, _) in cases.items()
    }
    for name, process in processes.items():
        result = finish_cli(process)
        assert_refused(result.returncode, result.stderr, cases[name][1], tmp_path / name)
