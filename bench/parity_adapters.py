"""Parity with libraries nobody here wrote: kronlab's Pfeiffer, Houlsby, parallel adapter, Compacter and Compacter++
against adapter-hub's ``adapters`` 1.3 (in its own virtual environment: it needs transformers 4.57), and prefix tuning
against PEFT's PREFIX_TUNING (bench/parity_prefix.py, in kronlab's environment).

    python -m bench.parity_adapters            # writes bench/results/parity.md and .json
    python -m bench.parity_adapters --write-reference   # also the frozen reference tests/parity/ compares to

The same tiny float64 BERT (bench/parity_common.py) and the same adapter weights (drawn here in kronlab's names,
mapped to adapter-hub's explicitly) on both sides, eval mode; compared: logits, the last hidden state, the gradient
of a fixed scalar of both with respect to the input embeddings and to every adapter parameter. Counts: each method
at the papers' settings on BERT-base's shapes, kronlab's ``count_parameters`` against adapter-hub's
``adapter_summary``. The first run builds bench/.venv-adapters (torch 2.13.0 first, then ``adapters``).
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from pathlib import Path

import torch
from transformers import BertConfig, BertForSequenceClassification

from bench.common import write_table
from bench.parity_common import KRONLAB_NAME, forward_backward, hub_name, inputs, tiny_bert, to_hub
from bench.parity_prefix import job as prefix_job
from bench.parity_prefix import prefix_rows
from src.adapters import apply, count_parameters
from src.backbones.architectures import placement_for

ROOT = Path(__file__).resolve().parents[1]
VENV = ROOT / "bench" / ".venv-adapters"
WORKER = ROOT / "bench" / "parity_adapterhub_worker.py"
PEFT_WORKER = ROOT / "bench" / "parity_peft_worker.py"
REFERENCE = ROOT / "tests" / "parity" / "reference" / "adapterhub_tiny_bert.pt"
TORCH = "torch==2.13.0"  # the local CPU wheel; installed first so adapters' requirement does not fetch a CUDA build
ADAPTERS = "adapters==1.3.0"
PEFT = "peft==0.21.2"  # the main environment's; in the venv because PEFT 0.21 refuses BERT prefixes on transformers 5
TOLERANCE = 1e-10  # float64: every difference below this is rounding
ADAPTER_STD = 0.3  # adapter weights large enough that every adapter moves the output

# (row, kronlab settings, adapter-hub config, what the row shows); tiny BERT: hidden 32, bottleneck 8 = reduction 4
CASES = (
    ("backbone", None, None, "the tiny BERT itself, transformers 5 against 4.57 with adapter-hub's layers"),
    (
        "pfeiffer",
        {"name": "pfeiffer", "bottleneck": 8},
        {"class": "SeqBnConfig", "settings": {"reduction_factor": 4}},
        "",
    ),
    (
        "houlsby",
        {"name": "houlsby", "bottleneck": 8},
        {"class": "DoubleSeqBnConfig", "settings": {"reduction_factor": 4}},
        "",
    ),
    (
        "pa",
        {"name": "pa", "bottleneck": 8},
        {"class": "ParBnConfig", "settings": {"reduction_factor": 4}},
        "",
    ),
    (
        "compacter",
        {"name": "compacter", "bottleneck": 8},
        {"class": "CompacterConfig", "settings": {"reduction_factor": 4}},
        "",
    ),
    (
        "compacterpp",
        {"name": "compacterpp", "bottleneck": 8},
        {"class": "CompacterPlusPlusConfig", "settings": {"reduction_factor": 4}},
        "",
    ),
    (
        "pfeiffer, wiring=projection",
        {"name": "pfeiffer", "bottleneck": 8, "wiring": "projection"},
        {"class": "SeqBnConfig", "settings": {"reduction_factor": 4}},
        "kronlab's Pfeiffer before issue 23 (a Houlsby adapter at the FFN): a different function, kept as an option",
    ),
)
REFERENCE_CASES = ("pfeiffer", "houlsby", "pa", "compacter", "compacterpp")

# (row, kronlab settings, adapter-hub config) on BERT-base's shapes
COUNTS = (
    ("pfeiffer, bottleneck 48 (Pfeiffer_48, AdaKron paper)", {"name": "pfeiffer", "bottleneck": 48}, {"class": "SeqBnConfig", "settings": {"reduction_factor": 16}}),
    ("houlsby, bottleneck 48 (reduction 16, both defaults)", {"name": "houlsby"}, {"class": "DoubleSeqBnConfig"}),
    ("pa, bottleneck 48 (kronlab's default, reduction 16)", {"name": "pa"}, {"class": "ParBnConfig", "settings": {"reduction_factor": 16}}),
    ("pa, bottleneck 384 (adapter-hub's ParBnConfig default, reduction 2)", {"name": "pa", "reduction_factor": 2}, {"class": "ParBnConfig"}),
    ("compacter, n 4, rank 1, bottleneck 24 (reduction 32, both defaults)", {"name": "compacter"}, {"class": "CompacterConfig"}),
    ("compacterpp, n 4, rank 1, bottleneck 24 (reduction 32, both defaults)", {"name": "compacterpp"}, {"class": "CompacterPlusPlusConfig"}),
)  # fmt: skip


def ensure_venv() -> Path:
    """bench/.venv-adapters with torch (the local wheel) and adapters 1.3, built on first use."""
    python = VENV / "bin" / "python"
    if not python.exists():
        subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True)
        subprocess.run([str(python), "-m", "pip", "install", "-q", TORCH], check=True)
        subprocess.run([str(python), "-m", "pip", "install", "-q", ADAPTERS, PEFT], check=True)
    return python


def is_adapter_parameter(name: str) -> bool:
    return KRONLAB_NAME.fullmatch(name) is not None or name.endswith("_rules.rules")


def kronlab_model(settings: dict | None) -> tuple[torch.nn.Module, dict[str, torch.nn.Parameter]]:
    model = tiny_bert(BertConfig, BertForSequenceClassification)
    if settings is None:
        return model, {}
    apply(model, settings, placement_for(model, "encoder"))
    model.double().eval()
    return model, {n: p for n, p in sorted(model.named_parameters()) if is_adapter_parameter(n)}


@torch.no_grad()
def draw_weights(trained: dict[str, torch.nn.Parameter], seed: int) -> dict[str, torch.Tensor]:
    generator = torch.Generator().manual_seed(seed)
    drawn = {}
    for name, param in trained.items():
        drawn[name] = torch.randn(param.shape, generator=generator, dtype=torch.float64) * ADAPTER_STD
        param.copy_(drawn[name])
    return drawn


def is_phm(settings: dict | None) -> bool:
    return bool(settings) and settings["name"].startswith("compacter")


def max_difference(a: torch.Tensor, b: torch.Tensor) -> float:
    if a.shape != b.shape:
        raise ValueError(f"shapes differ: {tuple(a.shape)} against {tuple(b.shape)}")
    return float((a - b).abs().max())


def compare(ours: dict, theirs: dict, phm: bool) -> dict:
    """Max absolute differences; adapter-hub's gradients are mapped back to kronlab's names and layouts."""
    grads = {
        name: max_difference(grad, to_hub(name, theirs["grads"][hub_name(name, "parity", phm)], phm))
        for name, grad in ours["grads"].items()
    }
    return {
        "logits": max_difference(ours["logits"], theirs["logits"]),
        "hidden": max_difference(ours["hidden"], theirs["hidden"]),
        "input_grad": max_difference(ours["input_grad"], theirs["input_grad"]),
        "parameter_grads": max(grads.values(), default=0.0),
        "parameters_compared": len(grads),
        "largest_logit": float(ours["logits"].abs().max()),
    }


def kronlab_count(settings: dict) -> int:
    with torch.device("meta"):
        model = BertForSequenceClassification(BertConfig(num_labels=2))
    placement = placement_for(model, "encoder")
    apply(model, settings, placement)
    return int(count_parameters(model, placement)["adapter"])


def run_in_venv(worker: Path, job: dict) -> dict:
    python = ensure_venv()
    with tempfile.TemporaryDirectory() as tmp:
        job_path, result_path = Path(tmp) / "job.pt", Path(tmp) / "result.pt"
        torch.save(job, job_path)
        env = {
            "PYTHONPATH": str(ROOT),
            "OMP_NUM_THREADS": "1",
            "PATH": "/usr/bin:/bin",
            "HF_HUB_OFFLINE": "1",
        }
        subprocess.run(
            [str(python), str(worker), str(job_path), str(result_path)], check=True, cwd=ROOT, env=env
        )
        return torch.load(result_path, weights_only=False)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--write-reference", action="store_true", help=f"also write {REFERENCE.relative_to(ROOT)}"
    )
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    batch = inputs()
    ours, jobs = {}, []
    for index, (row, settings, hub, _) in enumerate(CASES):
        model, trained = kronlab_model(settings)
        weights = draw_weights(trained, seed=100 + index)
        ours[row] = (settings, weights, forward_backward(model, batch, trained))
        phm = is_phm(settings)
        hub_weights = {hub_name(n, "parity", phm): to_hub(n, w, phm) for n, w in weights.items()}
        jobs.append({"name": row, "hub": hub, "weights": hub_weights})
    theirs = run_in_venv(WORKER, {"cases": jobs, "counts": {row: hub for row, _, hub in COUNTS}})
    rows = []
    for row, settings, hub, note in CASES:
        found = compare(ours[row][2], theirs["cases"][row], is_phm(settings))
        worst = max(found["logits"], found["hidden"], found["input_grad"], found["parameter_grads"])
        rows.append(
            {
                "method": row,
                "adapterhub_config": hub and hub["class"],
                **found,
                "equal": worst < TOLERANCE,
                "note": note,
            }
        )
    counts = [
        {"setting": row, "kronlab": kronlab_count(settings), "adapterhub": theirs["counts"][row]}
        for row, settings, _ in COUNTS
    ]
    prefix = prefix_rows(run_in_venv(PEFT_WORKER, prefix_job()), TOLERANCE)
    write_tables(rows, counts, prefix, theirs["versions"])
    if args.write_reference:
        write_reference(ours, theirs, theirs["versions"])


def write_reference(ours: dict, theirs: dict, versions: dict) -> None:
    """adapter-hub's outputs and gradients (in kronlab's names) for the cases the suite keeps equal."""
    cases = {}
    for row in REFERENCE_CASES:
        settings, weights, _ = ours[row]
        phm = is_phm(settings)
        hub = theirs["cases"][row]
        grads = {n: to_hub(n, hub["grads"][hub_name(n, "parity", phm)], phm) for n in weights}
        expected = {
            "logits": hub["logits"],
            "hidden": hub["hidden"],
            "input_grad": hub["input_grad"],
            "grads": grads,
        }
        cases[row] = {"settings": settings, "weights": weights, "expected": expected}
    REFERENCE.parent.mkdir(parents=True, exist_ok=True)
    torch.save(
        {
            "command": "python -m bench.parity_adapters --write-reference",
            "versions": versions,
            "tolerance": TOLERANCE,
            "cases": cases,
        },
        REFERENCE,
    )


def write_tables(rows: list[dict], counts: list[dict], prefix: dict, versions: dict) -> None:
    for row in counts:
        row["equal"] = row["kronlab"] == row["adapterhub"]
    write_table(
        "parity",
        "Parity with adapter-hub (adapters 1.3) and PEFT (prefix tuning), float64",
        rows,
        (
            "method",
            "adapterhub_config",
            "logits",
            "hidden",
            "input_grad",
            "parameter_grads",
            "parameters_compared",
            "largest_logit",
            "equal",
            "note",
        ),
        notes=(
            f"adapter-hub {versions['adapters']} (transformers {versions['transformers']}, torch {versions['torch']}) in "
            "bench/.venv-adapters; kronlab in the main environment",
            "tiny BERT (hidden 32, 2 layers, 4 heads, FFN 64; bench/parity_common.py), float64, eval mode; the same "
            "adapter weights on both sides (N(0, 0.3^2), mapped by name; PHM tensors transposed); max |difference| "
            "of the logits, the last hidden state, and the gradients of one fixed scalar of both with respect to the "
            f"input embeddings and to every adapter parameter; equal: every one below {TOLERANCE:g}",
            "initial values are not compared (the weights are copied): Pfeiffer, Houlsby N(0, 0.02) and PA's "
            "Kaiming/zero init are adapter-hub's (bert, mam_adapter); Compacter differs, named: adapter-hub draws the "
            "shared rules from N(0, 1e-4) and W from xavier-normal (init_W takes that branch for every "
            "hypercomplex_nonlinearity), kronlab the rules from N(0, 1e-2) and s, t xavier-uniform (same variance)",
            *prefix["notes"],
        ),
        sections=(
            (
                "Trainable adapter parameters at the papers' settings, BERT-base shapes (kronlab count_parameters, "
                "adapter-hub adapter_summary)",
                ("setting", "kronlab", "adapterhub", "equal"),
                counts,
            ),
            ("Prefix tuning against PEFT PREFIX_TUNING", prefix["columns"], prefix["rows"]),
        ),
        tolerance=TOLERANCE,
        adapterhub_versions=versions,
        counts=counts,
        prefix=prefix,
    )


if __name__ == "__main__":
    main()
