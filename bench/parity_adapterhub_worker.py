"""adapter-hub's side of the parity check; runs inside bench/.venv-adapters (``adapters`` 1.3, transformers 4.57),
started by bench/parity_adapters.py: ``python bench/parity_adapterhub_worker.py JOB.pt RESULT.pt``.

For each case of the job: the tiny BERT of bench/parity_common.py, one adapter-hub adapter added with the given
config class and settings, its weights replaced by the job's (already in adapter-hub's names and layouts), then
outputs and gradients. For each count: adapter-hub's own ``adapter_summary`` of that config on BERT-base's shapes.
"""

from __future__ import annotations

import sys

import torch
import transformers
from transformers import BertConfig, BertForSequenceClassification

import adapters
from adapters import configuration
from bench.parity_common import forward_backward, inputs, tiny_bert

ADAPTER = "parity"


def adapter_config(spec: dict):
    return getattr(configuration, spec["class"])(**spec.get("settings", {}))


def run_case(case: dict) -> dict:
    model = tiny_bert(BertConfig, BertForSequenceClassification)
    adapters.init(model)
    trained = {}
    if case.get("hub") is not None:
        model.add_adapter(ADAPTER, config=adapter_config(case["hub"]))
        model.set_active_adapters(ADAPTER)
        model.double().eval()
        params = dict(model.named_parameters())
        own = {name for name in params if f".{ADAPTER}." in name}
        given = set(case["weights"])
        if own != given:
            raise SystemExit(
                f"{case['name']}: adapter-hub has {sorted(own - given)} not given, given {sorted(given - own)} unknown"
            )
        with torch.no_grad():
            for name, value in case["weights"].items():
                params[name].copy_(value)
        trained = {name: params[name] for name in sorted(own)}
    return forward_backward(model, inputs(), trained)


def count(spec: dict) -> int:
    model = BertForSequenceClassification(BertConfig(num_labels=2))  # BERT-base's shapes, random weights
    adapters.init(model)
    model.add_adapter(ADAPTER, config=adapter_config(spec))
    model.set_active_adapters(ADAPTER)
    rows = {row["name"]: row for row in model.adapter_summary(as_dict=True)}
    return int(rows[ADAPTER]["#param"])


def main(job_path: str, result_path: str) -> None:
    torch.set_num_threads(1)
    job = torch.load(job_path, weights_only=False)
    result = {
        "cases": {case["name"]: run_case(case) for case in job["cases"]},
        "counts": {name: count(spec) for name, spec in job["counts"].items()},
        "versions": {
            "adapters": adapters.__version__,
            "transformers": transformers.__version__,
            "torch": str(torch.__version__),
        },
    }
    torch.save(result, result_path)


if __name__ == "__main__":
    main(*sys.argv[1:])
