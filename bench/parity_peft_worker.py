"""PEFT's side of the prefix-tuning parity check; runs inside bench/.venv-adapters (transformers 4.57, where BERT
still takes ``past_key_values``: PEFT 0.21's prefix tuning refuses BERT on transformers 5), started by
bench/parity_adapters.py: ``python bench/parity_peft_worker.py JOB.pt RESULT.pt``.

The tiny BERT of bench/parity_common.py with PEFT's PREFIX_TUNING (prefix_projection: one embedding, one
Linear-tanh-Linear for every layer), its prompt encoder's weights replaced by the job's; outputs and gradients.
PEFT numbers the text's positions after the prefix (``_adjust_prompt_learning_kwargs`` adds num_virtual_tokens to
given position_ids; BERT's embeddings start at past_key_values_length otherwise).
"""

from __future__ import annotations

import sys

import peft
import torch
from peft import PrefixTuningConfig, get_peft_model
from transformers import BertConfig, BertForSequenceClassification

from bench.parity_common import forward_backward, inputs, tiny_bert


def run(job: dict) -> dict:
    model = tiny_bert(BertConfig, BertForSequenceClassification)
    config = PrefixTuningConfig(
        task_type="SEQ_CLS",
        num_virtual_tokens=job["length"],
        prefix_projection=True,
        encoder_hidden_size=job["reparam_hidden"],
    )
    model = get_peft_model(model, config).double().eval()
    encoder = model.prompt_encoder["default"]
    params = {f"prompt_encoder.{name}": param for name, param in encoder.named_parameters()}
    with torch.no_grad():
        for name, value in job["weights"].items():
            params[name].copy_(value)
    return forward_backward(model, inputs(), params)


def main(job_path: str, result_path: str) -> None:
    torch.set_num_threads(1)
    job = torch.load(job_path, weights_only=False)
    count_model = get_peft_model(
        BertForSequenceClassification(BertConfig(num_labels=2)),
        PrefixTuningConfig(
            task_type="SEQ_CLS",
            num_virtual_tokens=job["count_length"],
            prefix_projection=True,
            encoder_hidden_size=768,
        ),
    )
    result = {
        "outputs": run(job),
        "count": sum(p.numel() for p in count_model.prompt_encoder.parameters()),
        "peft": peft.__version__,
    }
    torch.save(result, result_path)


if __name__ == "__main__":
    main(*sys.argv[1:])
