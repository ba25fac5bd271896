"""Train, then evaluate the saved run as a user would: ``src.eval`` and ``src.train train=false ckpt_path=``."""

from __future__ import annotations

import re
import stat
from pathlib import Path

import pytest
import torch

from .cli import TINY_LORA, cli, logged, read_json

pytestmark = pytest.mark.slow


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_checkpoints_are_adapter_sized(trained):
    results = read_json(trained / "results.json")
    best = Path(results["best_checkpoint"])
    for checkpoint in (best, trained / "checkpoints" / "last.ckpt"):
        assert checkpoint.stat().st_size < 1_000_000, f"{checkpoint.name}: {checkpoint.stat().st_size} bytes"
        stored = torch.load(checkpoint, map_location="cpu", weights_only=True)["state_dict"]
        assert sum(t.numel() for t in stored.values()) == results["params"]["trainable"]


def test_outputs_are_readable_by_others_under_umask_022(trained):
    files = [
        trained / "results.json",
        *(trained / "checkpoints").glob("*.ckpt"),
        *(trained / "merged" / "model").iterdir(),
        *(trained / "merged" / "adapter").iterdir(),
    ]
    assert len(files) >= 6
    assert {f.name: oct(mode(f)) for f in files} == {f.name: oct(0o644) for f in files}
    folders = [trained, trained / "checkpoints", trained / "merged", trained / "merged" / "model"]
    assert {str(d): oct(mode(d)) for d in folders} == {str(d): oct(0o755) for d in folders}


def test_eval_of_the_run_reproduces_its_metrics_exactly(trained):
    done = cli("src.eval", f"run_dir={trained}")
    assert done.returncode == 0, done.stderr[-3000:]
    results, evaluated = read_json(trained / "results.json"), read_json(trained / "eval.json")
    assert evaluated["metrics"] == results["metrics"]
    assert evaluated["weights"]["kind"] == "best"
    assert evaluated["weights"]["path"] == results["best_checkpoint"]
    assert evaluated["weights"]["global_step"] == 4
    assert evaluated["config"]["adapter"] == results["config"]["adapter"]
    assert mode(trained / "eval.json") == 0o644


def test_eval_takes_overrides_and_respects_umask_077(trained, tmp_path):
    output = tmp_path / "private" / "eval.json"
    done = cli(
        "src.eval",
        f"run_dir={trained}",
        "checkpoint=last",
        "split=validation",
        "data.max_eval_samples=4",
        f"output={output}",
        umask=0o077,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    evaluated = read_json(output)
    assert list(evaluated["metrics"]) == ["validation"]
    assert evaluated["config"]["data"]["max_eval_samples"] == 4
    assert evaluated["weights"]["path"] == str(trained / "checkpoints" / "last.ckpt")
    assert oct(mode(output)) == oct(0o600) and oct(mode(output.parent)) == oct(0o700)


def test_train_false_evaluates_the_given_checkpoint(trained, tmp_path):
    best = read_json(trained / "results.json")["best_checkpoint"]
    done = cli("src.train", *TINY_LORA, "train=false", f"ckpt_path={best}", f"hydra.run.dir={tmp_path}")
    assert done.returncode == 0, done.stderr[-3000:]
    results = read_json(tmp_path / "results.json")
    assert results["evaluated_checkpoint"] == results["best_checkpoint"] == best
    assert results["metrics"]["validation"] == read_json(trained / "results.json")["metrics"]["validation"]
    # the reproduction: the validation loss is the trained model's, not the untrained one's
    assert logged(tmp_path, "val/loss") == logged(trained, "val/loss")[-1:]


@pytest.mark.parametrize(
    ("module", "args", "message"),
    [
        ("src.eval", ("run_dir=/no/such/run",), "run_dir=/no/such/run: not a run directory"),
        (
            "src.train",
            (*TINY_LORA, "train=false", "ckpt_path=/no/such.ckpt"),
            "ckpt_path=/no/such.ckpt: no such file",
        ),
        (
            "src.eval",
            ("RUN", "adapter.rank=4"),
            "step4.ckpt has .* of shape \\(8, 48\\), this model \\(4, 48\\)",
        ),
        (
            "src.train",
            (*TINY_LORA, "train=false", "ckpt_path=BEST", "adapter=krona"),
            "checkpoint /.*/epoch00-step4.ckpt holds .* tensors this model lacks",
        ),
    ],
    ids=["eval-no-run", "train-no-file", "eval-other-rank", "train-other-adapter"],
)
def test_refusals_are_one_line_with_exit_2(trained, tmp_path, module, args, message):
    best = read_json(trained / "results.json")["best_checkpoint"]
    args = [f"run_dir={trained}" if a == "RUN" else a.replace("BEST", best) for a in args]
    if module == "src.train":
        args.append(f"hydra.run.dir={tmp_path}")
    done = cli(module, *args)
    assert done.returncode == 2, done.stderr[-3000:]
    assert done.stderr.count("error:") == 1 and "Traceback" not in done.stderr
    last_line = done.stderr.strip().splitlines()[-1]
    assert last_line.startswith("error: ")
    assert re.search(message, last_line), last_line
